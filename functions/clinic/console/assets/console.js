/**
 * The staff console: sign in (with two-step sign-in), the inbox, one request, export, erase.
 *
 * Everything a patient wrote is put on the page with textContent, never as HTML. The API
 * is at the same origin (relative URLs "staff/..."), so no CORS is involved; the access
 * token goes in the Authorization header and is kept in memory only (cognito.js).
 */
import * as cognito from "./cognito.js";

const STATUSES = {
  new: "New",
  contacted: "Contacted",
  scheduled: "Scheduled",
  completed: "Completed",
  not_a_fit: "Not a fit",
  no_response: "No response",
  spam: "Spam",
  quarantined: "Quarantined",
  erased: "Erased",
};
// Why intake held a request back (the spam test it failed); an unknown reason shows as sent.
const QUARANTINE_REASONS = {
  honeypot: "A field hidden from people was filled in (a common sign of a bot).",
  proof_of_work_missing: "It came without the form's proof-of-work check (a script, or a browser without JavaScript).",
  proof_of_work_invalid: "The form's proof-of-work check was not valid.",
  proof_of_work_expired: "The form's proof-of-work check had expired.",
  proof_of_work_replayed: "The form's proof-of-work check had been used before.",
};
const quarantineReason = (reason) => QUARANTINE_REASONS[reason] || `Spam test failed: ${reason || "unknown"}.`;
const CONTACT = { email: "Email", phone: "Phone call", text: "Text message" };
const TIMES = { morning: "Morning", afternoon: "Afternoon", evening: "Evening", any: "Any time" };
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

const $ = (id) => document.getElementById(id);
let nextCursor = null;
let shownLead = null; // {detail, etag}
let signInStep = null;

/* ---------- Small helpers ---------- */

function show(sectionId) {
  for (const id of ["sign-in", "leads", "lead"]) $(id).hidden = id !== sectionId;
  $("loading").hidden = true;
}

function say(id, text) {
  const node = $(id);
  node.textContent = text || "";
  node.hidden = !text;
}

function when(rfc3339) {
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? "" : dateTime.format(date);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function isAdmin() {
  const user = cognito.currentUser();
  return Boolean(user && user.groups.includes("admin"));
}

/** A staff API call with the access token; resolves to the Response. A 401 signs out. */
async function api(path, options = {}) {
  let token = await cognito.accessToken();
  const send = () =>
    fetch(`staff/${path}`, {
      ...options,
      headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` },
    });
  let response = await send();
  if (response.status === 401) {
    await cognito.refresh();
    token = await cognito.accessToken();
    if (token) response = await send();
  }
  if (response.status === 401) {
    await signedOut("Your session ended. Please sign in again.");
    throw new Error("signed out");
  }
  return response;
}

/** The message of the API's error envelope, or a general one. */
async function problem(response) {
  const body = await response.json().catch(() => null);
  const error = body && body.error;
  if (response.status === 403) return "Your account is not allowed to do this.";
  if (response.status === 412) return "Someone else changed this request meanwhile; it has been reloaded.";
  return (error && error.message) || `The request failed (${response.status}). Please try again.`;
}

/* ---------- Sign-in ---------- */

const SIGN_IN_FORMS = {
  password: "password-form",
  NEW_PASSWORD_REQUIRED: "new-password-form",
  MFA_SETUP: "totp-setup-form",
  SOFTWARE_TOKEN_MFA: "totp-form",
};

function showSignInForm(step) {
  for (const [name, id] of Object.entries(SIGN_IN_FORMS)) $(id).hidden = name !== step;
  const form = $(SIGN_IN_FORMS[step]);
  const field = form.querySelector("input");
  if (field) field.focus();
}

async function advance(step) {
  signInStep = step;
  if (step.done) {
    say("sign-in-error", "");
    await signedIn();
    return;
  }
  if (step.challenge === "MFA_SETUP") {
    signInStep = await cognito.beginTotpSetup(step);
    const secret = signInStep.secret;
    $("totp-secret").textContent = secret.replace(/(.{4})/g, "$1 ").trim();
    const label = encodeURIComponent(`Clinic staff:${step.username}`);
    $("totp-link").href = `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent("Clinic staff")}`;
  }
  if (!SIGN_IN_FORMS[step.challenge]) {
    throw new cognito.CognitoError("UnsupportedChallenge", "This sign-in step is not supported here.");
  }
  showSignInForm(step.challenge);
}

const SIGN_IN_MESSAGES = {
  NotAuthorizedException: "The username or password is not right, or the sign-in took too long.",
  UserNotFoundException: "The username or password is not right.",
  CodeMismatchException: "That code did not match. Type the code your app shows now.",
  EnableSoftwareTokenMFAException: "That code did not match. Type the code your app shows now.",
  ExpiredCodeException: "That code has expired. Type the code your app shows now.",
  PasswordResetRequiredException: "Your password must be reset: ask an administrator.",
  TooManyRequestsException: "Too many attempts. Wait a minute, then try again.",
  LimitExceededException: "Too many attempts. Wait a minute, then try again.",
};

function signInStepHandler(formId, run) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      say("sign-in-error", "");
      await advance(await run(new FormData(event.target)));
    } catch (error) {
      const message =
        SIGN_IN_MESSAGES[error.type] ||
        (error.type === "InvalidPasswordException" ? error.message : null) ||
        "Signing in failed. Please try again.";
      say("sign-in-error", message);
      if (error.type === "NotAuthorizedException") showSignInForm("password");
    } finally {
      button.disabled = false;
    }
  });
}

signInStepHandler("password-form", (data) =>
  cognito.startSignIn(String(data.get("username")).trim(), String(data.get("password"))),
);
signInStepHandler("new-password-form", (data) =>
  cognito.setNewPassword(signInStep, String(data.get("new-password"))),
);
signInStepHandler("totp-setup-form", (data) =>
  cognito.finishTotpSetup(signInStep, String(data.get("setup-code")).trim()),
);
signInStepHandler("totp-form", (data) => cognito.answerTotp(signInStep, String(data.get("totp-code")).trim()));

async function signedIn() {
  const user = cognito.currentUser();
  $("user-name").textContent = user.username;
  $("signed-in").hidden = false;
  for (const node of document.querySelectorAll(".admin-only")) node.hidden = !isAdmin();
  for (const form of Object.values(SIGN_IN_FORMS)) $(form).reset();
  await route();
}

async function signedOut(message) {
  await cognito.signOut();
  $("signed-in").hidden = true;
  show("sign-in");
  showSignInForm("password");
  say("sign-in-error", message || "");
}

$("sign-out").addEventListener("click", () => signedOut("You are signed out."));

/* ---------- Routing: #list, #quarantine, #lead=<id> ---------- */

async function route() {
  if (!cognito.currentUser()) {
    show("sign-in");
    showSignInForm("password");
    return;
  }
  const match = /^#lead=([0-9A-Za-z]+)$/.exec(window.location.hash);
  try {
    say("page-error", "");
    if (match) await openLead(match[1]);
    else if (window.location.hash === "#quarantine") {
      // The daily digest links here: the quarantine view.
      $("status-filter").value = "quarantined";
      await openList();
    } else await openList();
  } catch (error) {
    if (error.message !== "signed out") say("page-error", "The console could not reach the server. Please try again.");
  }
}

window.addEventListener("hashchange", route);

/* ---------- The inbox ---------- */

for (const [value, label] of Object.entries(STATUSES)) {
  if (value !== "erased") $("status-filter").append(new Option(label, value));
}

async function openList() {
  show("leads");
  $("lead-list").replaceChildren();
  nextCursor = null;
  await loadLeads();
}

async function loadLeads() {
  const query = new URLSearchParams({ limit: "25" });
  const status = $("status-filter").value;
  if (status) query.set("status", status);
  if (nextCursor) query.set("cursor", nextCursor);
  const response = await api(`leads?${query}`);
  if (!response.ok) {
    say("page-error", await problem(response));
    return;
  }
  const page = await response.json();
  for (const lead of page.items) $("lead-list").append(leadCard(lead));
  nextCursor = page.next_cursor || null;
  $("load-more").hidden = !nextCursor;
  $("leads-empty").hidden = $("lead-list").children.length > 0;
}

function leadCard(lead) {
  const item = element("li", "", "lead-card");
  const link = element("a", lead.name || "(name erased)");
  link.href = `#lead=${encodeURIComponent(lead.id)}`;
  item.append(link, element("span", STATUSES[lead.status] || lead.status, `status status-${lead.status}`));
  const facts = [
    lead.reference,
    when(lead.created_at),
    lead.preferred_contact ? CONTACT[lead.preferred_contact] : "No preferred channel",
    TIMES[lead.preferred_time] || "",
  ].filter(Boolean);
  item.append(element("p", facts.join(" · "), "lead-meta"));
  if (lead.status === "quarantined") item.append(element("p", quarantineReason(lead.quarantine_reason), "lead-meta"));
  if (lead.repeat_of) item.append(element("p", "Repeat: the same email or phone sent a request in the last 7 days.", "lead-meta repeat"));
  return item;
}

$("filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  openList().catch(() => say("page-error", "The console could not reach the server. Please try again."));
});
$("load-more").addEventListener("click", () => loadLeads());

/* ---------- One lead ---------- */

async function openLead(id) {
  show("lead");
  say("lead-result", "");
  const response = await api(`leads/${encodeURIComponent(id)}`);
  $("lead-body").hidden = !response.ok;
  $("erase-lead").disabled = !response.ok;
  if (!response.ok) {
    shownLead = null;
    $("lead-title").textContent = "Request not available";
    say(
      "lead-result",
      response.status === 404
        ? "This request has been erased, has passed its retention, or does not exist."
        : await problem(response),
    );
  } else {
    shownLead = { detail: await response.json(), etag: response.headers.get("ETag") };
    renderLead(shownLead.detail);
  }
  // An erased request keeps its audit trail: administrators can still see who did what.
  if (isAdmin()) await loadAudit(id);
}

function fact(list, term, value) {
  if (value === undefined || value === null || value === "") return;
  list.append(element("dt", term), element("dd", String(value)));
}

function renderLead(lead) {
  $("lead-title").textContent = `${lead.name || "(name erased)"} · ${lead.reference || lead.id}`;
  const facts = $("lead-facts");
  facts.replaceChildren();
  fact(facts, "Status", STATUSES[lead.status] || lead.status);
  fact(facts, "Received", when(lead.created_at));
  fact(facts, "Reference", lead.reference);
  fact(facts, "Preferred channel", lead.preferred_contact ? CONTACT[lead.preferred_contact] : "No preference");
  fact(facts, "Best time", TIMES[lead.preferred_time]);
  fact(facts, "Phone", lead.phone);
  fact(facts, "Email", lead.email);
  fact(facts, "Concerns", (lead.concerns || []).join(", "));
  fact(facts, "Message", lead.message);
  fact(facts, "Assigned to", lead.assignee);
  if (lead.consent) fact(facts, "Consent", `version ${lead.consent.version}, ${when(lead.consent.given_at)}`);
  if (lead.source && lead.source.page) fact(facts, "Sent from", lead.source.page);
  const steps = (lead.notification && lead.notification.steps) || {};
  fact(facts, "Staff email sent", steps.staff_email ? when(steps.staff_email) : "Not yet");
  if (lead.repeat_of) {
    // An earlier request from the same email or phone: whoever calls back sees both.
    const link = element("a", "an earlier request (same email or phone, within 7 days)");
    link.href = `#lead=${encodeURIComponent(lead.repeat_of)}`;
    const value = element("dd");
    value.append("Repeat of ", link);
    facts.append(element("dt", "Repeat"), value);
  }
  $("quarantine-panel").hidden = lead.status !== "quarantined";
  $("quarantine-reason").textContent = lead.status === "quarantined" ? quarantineReason(lead.quarantine_reason) : "";

  // Only the moves the clinic's workflow allows from here (the API says which).
  const select = $("work-status");
  select.replaceChildren(new Option(`${STATUSES[lead.status] || lead.status} (now)`, lead.status));
  for (const value of lead.next_statuses || []) select.append(new Option(STATUSES[value] || value, value));
  select.value = lead.status;
  $("work-assignee").value = lead.assignee || "";
  $("work-note").value = "";
  const closed = lead.status === "erased";
  for (const field of $("work-form").elements) field.disabled = closed;
  $("erase-lead").disabled = closed;

  $("lead-history").replaceChildren(
    ...(lead.history || []).map((entry) =>
      element("li", `${when(entry.at)}: ${STATUSES[entry.status] || entry.status}${entry.by ? ` (${entry.by})` : ""}`),
    ),
  );
  $("lead-notes").replaceChildren(
    ...(lead.notes || []).map((note) => {
      const item = element("li");
      item.append(element("span", `${when(note.at)}, ${note.by}: `, "muted"), element("span", note.text));
      return item;
    }),
  );
}

async function loadAudit(id) {
  $("lead-audit").replaceChildren();
  const response = await api(`leads/${encodeURIComponent(id)}/audit`);
  if (!response.ok) return;
  const trail = await response.json();
  $("lead-audit").replaceChildren(
    ...trail.items.map((event) =>
      element("li", `${when(event.at)}: ${event.action} by ${event.actor.username} (${event.outcome})`),
    ),
  );
}

$("work-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const lead = shownLead.detail;
  const change = {};
  if ($("work-status").value !== lead.status) change.status = $("work-status").value;
  const assignee = $("work-assignee").value.trim();
  if (assignee !== (lead.assignee || "")) change.assignee = assignee || null; // null: nobody
  const note = $("work-note").value.trim();
  if (note) change.note = note;
  if (!Object.keys(change).length) {
    say("lead-result", "Nothing to save.");
    return;
  }
  const response = await api(`leads/${encodeURIComponent(lead.id)}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/json", "If-Match": shownLead.etag },
    body: JSON.stringify(change),
  });
  if (response.ok) {
    shownLead = { detail: await response.json(), etag: response.headers.get("ETag") };
    renderLead(shownLead.detail);
    if (isAdmin()) await loadAudit(lead.id);
    say("lead-result", "Saved.");
    return;
  }
  const message = await problem(response);
  if (response.status === 412) await openLead(lead.id);
  say("lead-result", message);
});

$("release-lead").addEventListener("click", async () => {
  const lead = shownLead.detail;
  const response = await api(`leads/${encodeURIComponent(lead.id)}/release`, {
    method: "POST",
    headers: { "If-Match": shownLead.etag },
  });
  if (response.ok) {
    shownLead = { detail: await response.json(), etag: response.headers.get("ETag") };
    renderLead(shownLead.detail);
    if (isAdmin()) await loadAudit(lead.id);
    say("lead-result", "Released: it is in the inbox as new, and staff will be emailed about it once.");
    return;
  }
  const message = await problem(response);
  if (response.status === 412) await openLead(lead.id);
  say("lead-result", message);
});

/* ---------- Confirmation, erasure, export ---------- */

function confirmed(text, action) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-button").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
  });
}

$("erase-lead").addEventListener("click", async () => {
  const lead = shownLead.detail;
  const sure = await confirmed(
    `Erase request ${lead.reference || lead.id}? The patient's name, contact details and message are removed for good.`,
    "Erase",
  );
  if (!sure) return;
  const response = await api(`leads/${encodeURIComponent(lead.id)}`, { method: "DELETE" });
  if (response.status !== 204) {
    say("lead-result", await problem(response));
    return;
  }
  await openLead(lead.id);
  say("lead-result", "Erased: the patient's details are gone; the audit trail stays.");
});

$("erase-person-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {};
  const email = $("erase-email").value.trim();
  const phone = $("erase-phone").value.trim();
  if (email) body.email = email;
  if (phone) body.phone = phone;
  if (!email && !phone) {
    say("erase-person-result", "Give the person's email, phone or both.");
    return;
  }
  if (!(await confirmed("Erase every request from this person? This cannot be undone.", "Erase all"))) return;
  const response = await api("erasures", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    say("erase-person-result", await problem(response));
    return;
  }
  const result = await response.json();
  event.target.reset();
  say("erase-person-result", `${result.erased} request${result.erased === 1 ? "" : "s"} erased.`);
});

$("export-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const since = $("export-since").value;
  const until = $("export-until").value;
  const query = new URLSearchParams({ since, until });
  const status = $("status-filter").value;
  if (status) query.set("status", status);
  const response = await api(`exports/leads.csv?${query}`);
  if (!response.ok) {
    say("export-result", await problem(response));
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `leads-${since}-to-${until}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  say("export-result", "Downloaded.");
});

/* ---------- Start ---------- */

async function start() {
  const response = await fetch("staff/assets/config.json");
  cognito.configure(await response.json());
  await route();
}

start().catch(() => {
  $("loading").hidden = true;
  say("page-error", "The console could not start. Please reload the page.");
});
