/**
 * The consultation request form (consult.html).
 *
 * Without JavaScript the form is a plain post to {apiBase}/consultations. With it, this
 * script checks the fields first (gently: the API is the authority), then sends JSON with
 * one Idempotency-Key per page view, so a double click or a retry stores one request, and
 * the ALTCHA widget's proof of work (its challenge from {apiBase}/consultations/challenge)
 * as `altcha`. If the widget cannot solve it, the request is sent without: the clinic still
 * receives it, for staff to review first.
 *
 * API: POST /consultations -> 201 {"id", "reference", "status"}; 422 lists field problems; 429 and 503
 * carry Retry-After (seconds). Server messages are shown exactly as sent.
 */
import { apiError, apiUrl, element, readJson } from "./api.js";

const MESSAGE_MAX = 2000;
const REQUEST_TIMEOUT_MS = 30000;

// Each field the API may name, and the inputs it covers (the first gets the summary link).
const FIELDS = {
  name: ["name"],
  email: ["email"],
  phone: ["phone"],
  preferred_contact: ["contact-email", "contact-phone", "contact-text"],
  preferred_time: ["preferred_time"],
  concerns: [
    "concern-depression",
    "concern-anxiety",
    "concern-ptsd",
    "concern-chronic_pain",
    "concern-ocd",
    "concern-other",
  ],
  message: ["message"],
  consent: ["consent"],
};
const FIELD_ORDER = Object.keys(FIELDS);

// The API's `source` object: key -> [hidden input id, longest value the API accepts].
const SOURCE_FIELDS = {
  page: ["source-page", 2048],
  referrer: ["source-referrer", 2048],
  utm_source: ["source-utm_source", 200],
  utm_medium: ["source-utm_medium", 200],
  utm_campaign: ["source-utm_campaign", 200],
  utm_term: ["source-utm_term", 200],
  utm_content: ["source-utm_content", 200],
};

// Loose on purpose: something@something. The API decides what is deliverable
// (so "patient@localhost" reaches it and the visitor sees the API's own message).
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;
// Control and text-direction characters, which the API refuses in tracking values.
const HIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const $ = (id) => document.getElementById(id);

const form = $("consultation-form");
const submitButton = $("submit");
const formStatus = $("form-status");
const summary = $("form-errors");
const summaryList = $("form-errors-list");
const success = $("form-success");
const textarea = $("message");
const widget = document.querySelector("altcha-widget");
const pageTitle = document.title;

// One key for this page view: every submit of it (a double click, a retry) sends the same.
const idempotencyKey = newIdempotencyKey();
let sending = false;

function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // randomUUID needs a secure context (https or localhost); this is as random, in hex.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Length in characters (code points), as the API counts it, not UTF-16 units. */
function length(text) {
  return [...text].length;
}

/* ---------- Reading the form ---------- */

function readValues() {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) || "");
  return {
    name: text("name").trim(),
    email: text("email").trim(),
    phone: text("phone").trim(),
    preferred_contact: text("preferred_contact"),
    preferred_time: text("preferred_time") || "any",
    concerns: data.getAll("concerns").map(String),
    message: text("message").trim(),
    consent: $("consent").checked,
    website: text("website"),
  };
}

/** The `source` object: only keys with a value the API will accept. */
function readSource() {
  const source = {};
  for (const [key, [id]] of Object.entries(SOURCE_FIELDS)) {
    const input = $(id);
    if (input && input.value) source[key] = input.value;
  }
  return source;
}

/* ---------- Proof of work (the vendored ALTCHA widget) ---------- */

const POW_TIMEOUT_MS = 20000;

/** Resolves when the widget leaves the "verifying" state (or after POW_TIMEOUT_MS). */
function settled() {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, POW_TIMEOUT_MS);
    widget.addEventListener("statechange", function listen(event) {
      if (event.detail && event.detail.state === "verifying") return;
      clearTimeout(timer);
      widget.removeEventListener("statechange", listen);
      resolve();
    });
  });
}

/** The widget's solution (its base64 payload), solving now if it has not yet; "" if it cannot. */
async function proofOfWork() {
  if (!widget || typeof widget.verify !== "function") return ""; // the widget did not load
  try {
    if (widget.getState() === "verifying") await settled();
    if (widget.getState() !== "verified") {
      widget.reset(); // an expired or failed challenge: fetch a new one
      const result = await widget.verify();
      if (result && result.payload) return String(result.payload);
    }
    return String(new FormData(form).get("altcha") || "");
  } catch {
    return "";
  }
}

/** The JSON body: empty optional fields left out, concerns as a list, consent as true. */
function requestBody(values, altcha) {
  const body = { name: values.name };
  if (values.email) body.email = values.email;
  if (values.phone) body.phone = values.phone;
  if (values.preferred_contact) body.preferred_contact = values.preferred_contact;
  body.preferred_time = values.preferred_time;
  if (values.concerns.length > 0) body.concerns = values.concerns;
  if (values.message) body.message = values.message;
  body.consent = values.consent === true;
  if (values.website) body.website = values.website; // the honeypot: only bots fill it in
  if (altcha) body.altcha = altcha;
  const source = readSource();
  if (Object.keys(source).length > 0) body.source = source;
  return body;
}

/** Fill the hidden source fields: this page, the referrer and any utm_* in the page URL. */
function fillSource() {
  const params = new URLSearchParams(window.location.search);
  const values = {
    page: window.location.pathname,
    referrer: document.referrer,
    utm_source: params.get("utm_source"),
    utm_medium: params.get("utm_medium"),
    utm_campaign: params.get("utm_campaign"),
    utm_term: params.get("utm_term"),
    utm_content: params.get("utm_content"),
  };
  for (const [key, [id, max]] of Object.entries(SOURCE_FIELDS)) {
    const input = $(id);
    if (!input) continue;
    const value = String(values[key] || "").trim();
    // A tracking value the API would refuse is dropped, so it can never block a request.
    input.value = value && length(value) <= max && !HIDDEN_CHARACTERS.test(value) ? value : "";
  }
}

/* ---------- Checking before sending (hints only; the API is the authority) ---------- */

function checkValues(values) {
  const problems = [];
  const add = (field, message) => problems.push({ field, message });

  if (!values.name) add("name", "Enter your name.");
  else if (length(values.name) > 100) add("name", "Enter your name, up to 100 characters.");

  const wantsEmail = values.preferred_contact === "email";
  const wantsPhone = values.preferred_contact === "phone" || values.preferred_contact === "text";

  if (values.email && (length(values.email) > 254 || !EMAIL_SHAPE.test(values.email))) {
    add("email", "Enter a valid email address, like name@example.com.");
  } else if (!values.email && wantsEmail) {
    add("email", "Enter your email address, or choose phone or text.");
  } else if (!values.email && !values.phone && !wantsPhone) {
    add("email", "Give an email address or a phone number so that we can reply.");
  }

  if (length(values.phone) > 32) {
    add("phone", "Enter a phone number of up to 32 characters.");
  } else if (!values.phone && wantsPhone) {
    add("phone", "Enter your phone number, or choose email.");
  }

  if (length(values.message) > MESSAGE_MAX) {
    add("message", `Keep your message to ${MESSAGE_MAX} characters or fewer.`);
  }

  if (!values.consent) {
    add("consent", "Please agree to be contacted so that we can reply to your request.");
  }
  return problems;
}

/* ---------- Showing problems ---------- */

function clearProblems() {
  for (const [field, ids] of Object.entries(FIELDS)) {
    const error = $(`${field}-error`);
    if (error) {
      error.textContent = "";
      error.hidden = true;
    }
    for (const id of ids) $(id)?.removeAttribute("aria-invalid");
  }
  summaryList.replaceChildren();
  summary.hidden = true;
  document.title = pageTitle;
}

/**
 * Show field problems next to their fields and in the summary (as links), plus any
 * form-level messages, then move focus to the summary.
 * problems: [{field, message}] (field names as the API uses them); notes: [string].
 */
function showProblems(problems, notes = []) {
  clearProblems();

  const known = problems.filter((problem) => FIELDS[problem.field]);
  const other = problems.filter((problem) => !FIELDS[problem.field]);
  known.sort((a, b) => FIELD_ORDER.indexOf(a.field) - FIELD_ORDER.indexOf(b.field));

  const shown = new Set();
  for (const { field, message } of known) {
    if (shown.has(field)) continue; // one message per field
    shown.add(field);
    const ids = FIELDS[field];
    const error = $(`${field}-error`);
    error.textContent = message;
    error.hidden = false;
    for (const id of ids) $(id)?.setAttribute("aria-invalid", "true");

    const link = element("a", { text: message });
    link.href = `#${ids[0]}`;
    const item = element("li");
    item.append(link);
    summaryList.append(item);
  }
  // Problems that belong to no visible field (body, Idempotency-Key, source.*) and
  // form-level messages are listed without a link.
  for (const text of [...other.map((problem) => problem.message), ...notes]) {
    if (text) summaryList.append(element("li", { text }));
  }

  summary.hidden = false;
  document.title = `Error: ${pageTitle}`;
  summary.focus();
}

/** A summary link focuses its field and scrolls its label (or legend) into view. */
function onSummaryClick(event) {
  const link = event.target.closest("a[href^='#']");
  if (!link) return;
  const input = $(link.getAttribute("href").slice(1));
  if (!input) return;
  event.preventDefault();
  const label = input.closest("fieldset")?.querySelector("legend")
    || document.querySelector(`label[for="${input.id}"]`)
    || input;
  input.focus({ preventScroll: true });
  label.scrollIntoView({ block: "start" });
}

/** "Please try again in about N minutes." from Retry-After (seconds or an HTTP date). */
function retryAfterText(response) {
  const header = response.headers.get("Retry-After");
  if (!header) return "";
  let seconds = Number(header);
  if (!Number.isFinite(seconds)) seconds = (Date.parse(header) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return "";
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return `Please try again in about ${minutes} ${minutes === 1 ? "minute" : "minutes"}.`;
}

/* ---------- Sending ---------- */

function setSending(busy) {
  sending = busy;
  submitButton.disabled = busy;
  if (busy) submitButton.setAttribute("aria-disabled", "true");
  else submitButton.removeAttribute("aria-disabled");
  formStatus.textContent = busy ? "Sending…" : "";
}

function showSuccess(reference) {
  clearProblems();
  $("reference").textContent = reference;
  form.hidden = true;
  success.hidden = false;
  document.title = `Thank you | ${pageTitle.split(" | ").pop()}`;
  success.focus();
}

async function send(values, altcha) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    return await fetch(apiUrl("/consultations"), {
      method: "POST",
      headers: { "content-type": "application/json", "Idempotency-Key": idempotencyKey },
      body: JSON.stringify(requestBody(values, altcha)),
      signal: controller.signal,
    });
  } finally {
    clearTimeout(timer);
  }
}

async function onSubmit(event) {
  event.preventDefault();
  if (sending) return; // a request is on its way: ignore repeat clicks and Enter presses

  const values = readValues();
  const problems = checkValues(values);
  if (problems.length > 0) {
    showProblems(problems);
    return;
  }

  clearProblems();
  setSending(true);

  let response;
  try {
    response = await send(values, await proofOfWork());
  } catch {
    setSending(false);
    showProblems([], [
      "We could not send your request. Please check your internet connection and try again.",
    ]);
    return;
  }

  const body = await readJson(response);
  if ((response.status === 201 || response.status === 200) && body && body.id) {
    showSuccess(String(body.reference || body.id)); // the short code people read out
    return;
  }

  setSending(false);
  const problem = apiError(body);
  const serverMessage = problem && typeof problem.message === "string" ? problem.message : "";

  if (response.status === 422 && problem && Array.isArray(problem.fields) && problem.fields.length > 0) {
    showProblems(problem.fields.map((item) => ({ field: String(item.field), message: String(item.message) })));
  } else if (response.status === 429 || response.status === 503) {
    showProblems([], [serverMessage, retryAfterText(response)]);
  } else if (response.status === 409) {
    showProblems([], [
      serverMessage,
      "Your earlier request may already have reached us. To send a new one, reload this page.",
    ]);
  } else if (serverMessage) {
    showProblems([], [serverMessage]);
  } else {
    showProblems([], [
      "Something went wrong and we could not confirm that your request was received. Please try again in a few minutes.",
    ]);
  }
}

/* ---------- Message character count ---------- */

let announceTimer = null;

function updateCount({ announce = true } = {}) {
  const count = $("message-count");
  const live = $("message-count-live");
  if (!count) return;
  const left = MESSAGE_MAX - length(textarea.value);
  const plural = (n) => (n === 1 ? "character" : "characters");
  const text = left >= 0
    ? `You have ${left} ${plural(left)} remaining.`
    : `You have ${-left} ${plural(-left)} too many.`;
  count.textContent = text;
  count.hidden = false;
  count.classList.toggle("char-count--over", left < 0);
  // Screen readers hear the count once typing pauses, not at every key press.
  if (live && announce) {
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => {
      live.textContent = text;
    }, 1500);
  }
}

/* ---------- Start ---------- */

function start() {
  if (!form || !submitButton || !formStatus || !summary || !summaryList || !success) return;
  // Set before the widget's script defines the element (this module runs first).
  if (widget) widget.setAttribute("challenge", apiUrl("/consultations/challenge"));
  fillSource();
  form.addEventListener("submit", onSubmit);
  summary.addEventListener("click", onSummaryClick);
  if (textarea) {
    textarea.addEventListener("input", () => updateCount());
    updateCount({ announce: false }); // the count shows only with JavaScript
  }
}

start();
