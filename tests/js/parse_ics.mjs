// What Mozilla's ical.js (Thunderbird's parser) reads of iCalendar feeds, as JSON.
//
//   node parse_ics.mjs < feed.ics        -> [event, ...]
//   node parse_ics.mjs a.ics b.ics ...   -> {"a.ics": [event, ...], "b.ics": {"error": ...}}
//
// event = {uid, summary, status, all_day, start_utc, end_utc, start_date, end_date, zone}
// Timed events: start_utc/end_utc are ISO 8601 instants in UTC ("...Z"), dates are null.
// All-day events (VALUE=DATE) have no single instant: all_day=true, start_date/end_date
// ("YYYY-MM-DD", end exclusive as written) and null instants.
// `zone` is the zone ical.js resolved for DTSTART: "floating" means it did not resolve the TZID
// and fell back to the reader's local time (TZ), which is what the tests must catch.
import { readFileSync } from "node:fs";

import ICAL from "ical.js";

function pad(number, width) {
  return String(number).padStart(width, "0");
}

function dateString(time) {
  return `${pad(time.year, 4)}-${pad(time.month, 2)}-${pad(time.day, 2)}`;
}

function instant(time) {
  // toJSDate() converts through the time's zone; only a floating time depends on TZ.
  return time.toJSDate().toISOString().replace(".000Z", "Z");
}

function zoneName(time) {
  const zone = time.zone;
  if (!zone || zone === ICAL.Timezone.localTimezone) return "floating";
  return zone.tzid;
}

function readEvents(text) {
  // Only this feed's VTIMEZONEs: a zone registered by another feed must not fill a gap here.
  ICAL.TimezoneService.reset();
  const root = new ICAL.Component(ICAL.parse(text));
  const calendars = root.name === "vcalendar" ? [root] : root.getAllSubcomponents("vcalendar");
  // Register every VTIMEZONE first, so that TZID= times convert with the feed's own rules.
  for (const calendar of calendars) {
    for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
      ICAL.TimezoneService.register(vtimezone);
    }
  }
  const events = [];
  for (const calendar of calendars) {
    for (const vevent of calendar.getAllSubcomponents("vevent")) {
      const event = new ICAL.Event(vevent);
      const start = event.startDate;
      const end = event.endDate;
      const allDay = start.isDate;
      events.push({
        uid: event.uid,
        summary: event.summary,
        status: vevent.getFirstPropertyValue("status"),
        all_day: allDay,
        start_utc: allDay ? null : instant(start),
        end_utc: allDay ? null : instant(end),
        start_date: allDay ? dateString(start) : null,
        end_date: allDay ? dateString(end) : null,
        zone: allDay ? null : zoneName(start),
      });
    }
  }
  return events;
}

const paths = process.argv.slice(2);
let output;
if (paths.length === 0) {
  output = readEvents(readFileSync(0, "utf8"));
} else {
  output = {};
  for (const path of paths) {
    try {
      output[path] = readEvents(readFileSync(path, "utf8"));
    } catch (error) {
      // One unreadable feed fails its own test, not the others of the batch.
      output[path] = { error: `${error.name}: ${error.message}` };
    }
  }
}
process.stdout.write(JSON.stringify(output));
