// Starts Swagger UI on /docs with the app's own OpenAPI schema.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
