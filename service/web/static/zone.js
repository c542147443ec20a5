// The reader's own zone, where the browser says it: a zone link on a visit's page and the
// sign-up form's default. Pages work without it.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  var item = document.querySelector("[data-browser-zone]");
  if (item) {
    var link = item.querySelector("a");
    link.href = "?tz=" + encodeURIComponent(zone) + "#schedule";
    link.textContent = item.getAttribute("data-label").replace("ZONE", zone);
    item.hidden = false;
  }
  var field = document.querySelector("input[data-browser-default]");
  if (field) { field.value = zone; }
})();
