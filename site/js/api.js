/**
 * Talking to the clinic's API, and small helpers every page shares.
 *
 * The API's base URL comes from config.js (window.CLINIC_CONFIG.apiBase), which each page
 * loads with a classic <script> before its module scripts.
 */

/** The API's base URL from config.js, without a trailing slash ("" if not configured). */
export function apiBase() {
  const config = window.CLINIC_CONFIG || {};
  return String(config.apiBase || "").replace(/\/+$/, "");
}

/** The full URL of an API path such as "/articles?limit=3". */
export function apiUrl(path) {
  return apiBase() + path;
}

/**
 * GET a JSON resource. Resolves to {status, body, response}; body is null when the answer
 * is not JSON. Rejects only when the request could not be made (offline, DNS, CORS).
 * Redirects (an old article slug answers 301) are followed; response.url is the final URL.
 */
export async function getJson(path, { signal } = {}) {
  const response = await fetch(apiUrl(path), { signal });
  return { status: response.status, body: await readJson(response), response };
}

/** The body of a response as JSON, or null if it has none or is not JSON. */
export async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** The API's error envelope {"error": {code, message, fields?}} from a body, or null. */
export function apiError(body) {
  return body && typeof body === "object" && body.error && typeof body.error === "object"
    ? body.error
    : null;
}

/* ---------- Dates ---------- */

// The API's times are RFC 3339 in UTC; dates are shown in the visitor's locale, in UTC so
// that an article published at 00:30 UTC shows the same day everywhere.
const longDate = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "long",
  year: "numeric",
  timeZone: "UTC",
});

function toDate(rfc3339) {
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "2026-11-04T09:00:00Z" -> "4 November 2026" (or "November 4, 2026", by locale); "" if invalid. */
export function formatDate(rfc3339) {
  const date = toDate(rfc3339);
  return date ? longDate.format(date) : "";
}

/** "2026-11-04T09:00:00Z" -> "2026-11-04", for <time datetime>; "" if invalid. */
export function isoDate(rfc3339) {
  const date = toDate(rfc3339);
  return date ? date.toISOString().slice(0, 10) : "";
}

/** Whether two RFC 3339 times fall on the same UTC day. */
export function sameDay(first, second) {
  return isoDate(first) === isoDate(second);
}

/** A <time> element showing the date of an RFC 3339 time. */
export function timeElement(rfc3339) {
  const time = document.createElement("time");
  time.dateTime = isoDate(rfc3339);
  time.textContent = formatDate(rfc3339);
  return time;
}

/* ---------- Articles ---------- */

/** The site's page for an article. */
export function articleHref(slug) {
  return `article.html?slug=${encodeURIComponent(slug)}`;
}

/** The article list filtered to one topic (a link that works without JavaScript's filter). */
export function topicHref(tag) {
  return `index.html?tag=${encodeURIComponent(tag)}`;
}

/**
 * An article's topics as [{tag, name}]: the API's `topics`, or its bare `tags` (slugs) from an
 * API that has no names yet.
 */
export function topicsOf(article) {
  if (Array.isArray(article.topics) && article.topics.length > 0) {
    return article.topics.filter((topic) => topic && typeof topic.tag === "string" && topic.tag);
  }
  const tags = Array.isArray(article.tags) ? article.tags : [];
  return tags.filter((tag) => typeof tag === "string" && tag).map((tag) => ({ tag, name: tag }));
}

/** <ul class="tags"> of topic chips, each a link to the list of articles on that topic; null if none. */
export function topicChips(article) {
  const topics = topicsOf(article);
  if (topics.length === 0) return null;
  const chips = element("ul", { className: "tags" });
  chips.setAttribute("aria-label", "Topics");
  for (const { tag, name } of topics) {
    const link = element("a", { text: name || tag });
    link.href = topicHref(tag);
    const item = element("li");
    item.append(link);
    chips.append(item);
  }
  return chips;
}

/** "5 min read" */
export function readingTime(minutes) {
  const value = Number(minutes) > 0 ? Math.round(Number(minutes)) : 1;
  return `${value} min read`;
}

/** "Jane Doe, MD" or "Jane Doe". */
export function personName(person) {
  if (!person || !person.name) return "";
  return person.credentials ? `${person.name}, ${person.credentials}` : person.name;
}

/**
 * A URL that is safe to put in href/src: http(s) or a same-site path. Anything else
 * (javascript:, data:, …) gives null, so a bad value in content can never run script.
 */
export function safeUrl(url) {
  try {
    const parsed = new URL(String(url), window.location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/* ---------- DOM ---------- */

/** document.createElement with a class name and text (always textContent, never HTML). */
export function element(tag, { className = "", text = "" } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}
