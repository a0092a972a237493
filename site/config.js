// The one setting of this site: the base URL of the clinic's API (no trailing slash needed).
// consult.html's <form action> must use the same base ({apiBase}/consultations), so that
// visitors without JavaScript post their request to the same API.
// (`clinic dev` serves its own copy of this file, pointed at the local API.)
window.CLINIC_CONFIG = { apiBase: "https://api.example-clinic.com" };
