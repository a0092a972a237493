/**
 * The thank-you page (thank-you.html), where a plain form post lands.
 *
 * The API answers the post with 303 to this page and the request's reference in the
 * fragment, e.g. thank-you.html#reference=K7M4-QX2P: a fragment never reaches the site's
 * server or its logs. This shows the reference, if it is one.
 */
const REFERENCE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

function showReference() {
  const reference = new URLSearchParams(window.location.hash.slice(1)).get("reference") || "";
  const line = document.getElementById("reference-line");
  const slot = document.getElementById("reference");
  if (!line || !slot || !REFERENCE.test(reference)) return; // only a well-formed code is shown
  slot.textContent = reference;
  line.hidden = false;
}

showReference();
