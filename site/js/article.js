/**
 * One article (article.html?slug=…).
 *
 * API: GET /articles/{slug}. An old slug answers 301 to the current one; fetch follows it,
 * and the page URL is updated to the final slug. A 404 shows "We could not find that
 * article." Every API string is inserted as text, except body_html, which the API
 * sanitizes before it publishes it.
 */
import {
  articleHref,
  element,
  formatDate,
  getJson,
  personName,
  readingTime,
  safeUrl,
  sameDay,
  timeElement,
  topicChips,
} from "./api.js";

const $ = (id) => document.getElementById(id);

const status = $("article-status");
// "Article | Example Ketamine Clinic" -> "Example Ketamine Clinic", so the name lives in the HTML only.
const siteName = document.title.split(" | ").pop();

function setStatus(text) {
  if (status) status.textContent = text;
}

/** The slug at the end of a final (possibly redirected) API URL: …/articles/{slug}. */
function slugFromApiUrl(url) {
  try {
    const match = new URL(url).pathname.match(/\/articles\/([^/]+)\/?$/);
    return match ? decodeURIComponent(match[1]) : null;
  } catch {
    return null;
  }
}

/** Point the page URL at the article's current slug, without a reload or a history entry. */
function updatePageSlug(slug) {
  const url = new URL(window.location.href);
  if (url.searchParams.get("slug") === slug) return;
  url.searchParams.set("slug", slug);
  window.history.replaceState(null, "", url);
}

function setCanonical(href) {
  let link = document.querySelector('link[rel="canonical"]');
  const url = href ? safeUrl(href) : null;
  if (!url) {
    if (link) link.remove();
    return;
  }
  if (!link) {
    link = document.createElement("link");
    link.rel = "canonical";
    document.head.append(link);
  }
  link.href = url;
}

function setDescription(text) {
  const meta = document.querySelector('meta[name="description"]');
  if (meta && text) meta.content = text;
}

/** "By NAME, CREDENTIALS · Published DATE · Updated DATE · N min read" */
function renderMeta(article) {
  const meta = $("article-meta");
  if (!meta) return;
  const parts = [];
  const author = personName(article.author);
  if (author) parts.push([`By ${author}`]);
  parts.push(["Published ", timeElement(article.published_at)]);
  if (article.updated_at && !sameDay(article.updated_at, article.published_at)) {
    parts.push(["Updated ", timeElement(article.updated_at)]);
  }
  parts.push([readingTime(article.reading_time_minutes)]);

  meta.replaceChildren();
  parts.forEach((part, index) => {
    if (index > 0) meta.append(" · ");
    meta.append(...part);
  });
}

function renderReview(review) {
  const node = $("article-review");
  if (!node) return;
  if (review && review.reviewer && review.reviewer.name) {
    node.textContent =
      `Medically reviewed by ${personName(review.reviewer)} on ${formatDate(review.reviewed_at)}`;
    node.hidden = false;
  } else {
    node.textContent = "";
    node.hidden = true;
  }
}

/** Topic chips, each a link to the list of articles on that topic. */
function renderTopics(article) {
  const holder = $("article-topics");
  if (!holder) return;
  const chips = topicChips(article);
  holder.replaceChildren(...(chips ? [chips] : []));
}

function renderImage(image) {
  const holder = $("article-image");
  if (!holder) return;
  holder.replaceChildren();
  const src = image && safeUrl(image.url);
  if (!src) return;
  const figure = element("figure", { className: "article__figure" });
  const img = document.createElement("img");
  img.src = src;
  img.alt = image.alt || ""; // the API always sends alt text; "" marks the image decorative
  img.decoding = "async";
  figure.append(img);
  holder.append(figure);
}

function renderReferences(references) {
  const list = $("article-references");
  const section = $("references-section");
  if (!list) return;
  list.replaceChildren();
  for (const reference of references || []) {
    const item = element("li");
    const href = safeUrl(reference.url);
    if (href) {
      // Same tab (no target), so the back button returns to the article.
      const link = element("a", { text: reference.title || reference.url });
      link.href = href;
      link.rel = "noopener";
      item.append(link);
    } else {
      item.textContent = reference.title || "";
    }
    list.append(item);
  }
  if (section) section.hidden = list.children.length === 0;
}

function renderRelated(related) {
  const list = $("related-articles");
  const section = $("related-section");
  if (!list || !section) return;
  list.replaceChildren();
  for (const summary of related || []) {
    const item = element("li");
    const link = element("a", { text: summary.title });
    link.href = articleHref(summary.slug);
    const meta = element("span", { className: "meta", text: readingTime(summary.reading_time_minutes) });
    item.append(link, " ", meta);
    list.append(item);
  }
  section.hidden = list.children.length === 0;
}

function render(article) {
  document.title = article.title;
  setDescription(article.summary);
  setCanonical(article.canonical_url);

  $("article-title").textContent = article.title;
  renderMeta(article);
  renderReview(article.medical_review);
  renderTopics(article);
  renderImage(article.image);
  // The one place API data is inserted as HTML: the API sanitized it when it was published.
  $("article-body").innerHTML = article.body_html || "";
  $("article-disclaimer").textContent = article.disclaimer || "";
  $("article-disclaimer").hidden = !article.disclaimer;
  renderReferences(article.references);
  renderRelated(article.related);

  $("article").hidden = false;
}

function showNotFound() {
  document.title = `Article not found | ${siteName}`;
  setStatus("We could not find that article.");
  showBrowseLink();
}

/** After a problem, offer a way on: the status text is followed by a link to every article. */
function showBrowseLink() {
  if (!status || $("article-browse")) return;
  const paragraph = element("p");
  paragraph.id = "article-browse";
  const link = element("a", { text: "Browse all articles" });
  link.href = "index.html";
  paragraph.append(link);
  status.after(paragraph);
}

async function start() {
  if (!status || !$("article") || !$("article-title") || !$("article-body")) return;

  const slug = (new URLSearchParams(window.location.search).get("slug") || "").trim();
  if (!slug) {
    showNotFound();
    return;
  }

  let result;
  try {
    result = await getJson(`/articles/${encodeURIComponent(slug)}`);
  } catch {
    result = null;
  }

  if (result && result.status === 404) {
    showNotFound();
    return;
  }
  if (!result || result.status !== 200 || !result.body || typeof result.body.title !== "string") {
    setStatus("This article could not be loaded. Please check your connection and try again.");
    showBrowseLink();
    return;
  }

  const article = result.body;
  // After a 301 from an old slug, response.url names the current one.
  const finalSlug = slugFromApiUrl(result.response.url) || article.slug;
  if (finalSlug) updatePageSlug(finalSlug);

  render(article);
  setStatus("");
}

start();
