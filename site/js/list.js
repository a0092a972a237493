/**
 * The article list (index.html): a topic filter, pages of three articles, "More articles".
 *
 * API: GET /tags for the filter; GET /articles?limit=3[&tag=T][&cursor=C] for each page.
 * The chosen topic is kept in the page URL (?tag=…) so that a filtered list can be shared; each
 * card's topic chips link to that list. The filter is hidden in the HTML and shown from here, so
 * that without JavaScript there is no dropdown that does nothing.
 */
import { articleHref, element, getJson, readingTime, timeElement, topicChips } from "./api.js";

const PAGE_SIZE = 3;

const filter = document.getElementById("topic-filter");
const select = document.getElementById("tag-filter");
const list = document.getElementById("article-list");
const moreButton = document.getElementById("more-articles");
const status = document.getElementById("list-status");

// Which topic is shown, where the next page starts, and a counter that lets a newer
// request (a changed topic) win over an older one still on its way.
let currentTag = "";
let nextCursor = null;
let requestId = 0;
let controller = null;
// Display names by tag, from GET /tags and the cards' topics, for the status line.
const topicNames = new Map();

function setStatus(text) {
  status.textContent = text;
}

/** One <li class="article-card"> for an ArticleSummary. */
function articleCard(article) {
  const card = element("li", { className: "article-card" });

  const heading = element("h2", { className: "article-card__title" });
  const link = element("a", { text: article.title });
  link.href = articleHref(article.slug);
  heading.append(link);

  const summary = element("p", { className: "article-card__summary", text: article.summary });

  const meta = element("p", { className: "meta" });
  meta.append(timeElement(article.published_at), " · ", readingTime(article.reading_time_minutes));

  card.append(heading, summary, meta);

  const chips = topicChips(article);
  if (chips) card.append(chips);
  for (const topic of article.topics || []) {
    if (topic && topic.tag && topic.name && !topicNames.has(topic.tag)) topicNames.set(topic.tag, topic.name);
  }
  return card;
}

function articlesPath(cursor) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (currentTag) query.set("tag", currentTag);
  if (cursor) query.set("cursor", cursor);
  return `/articles?${query}`;
}

// While a page loads, "More articles" is only aria-disabled (not disabled), so that keyboard
// focus stays on it; clicks are ignored until the page has arrived.
function setMoreBusy(busy) {
  if (busy) moreButton.setAttribute("aria-disabled", "true");
  else moreButton.removeAttribute("aria-disabled");
}

function showMoreButton() {
  moreButton.hidden = nextCursor === null;
  setMoreBusy(false);
}

/** Load the first page (reset: true) or the next one, and show it. */
async function loadArticles({ reset }) {
  const thisRequest = ++requestId;
  if (controller) controller.abort();
  controller = new AbortController();

  if (reset) {
    list.replaceChildren();
    nextCursor = null;
    moreButton.hidden = true;
    setStatus("Loading articles…");
  } else {
    setMoreBusy(true);
    setStatus("Loading more articles…");
  }

  let result;
  try {
    result = await getJson(articlesPath(reset ? null : nextCursor), { signal: controller.signal });
  } catch (error) {
    if (error.name === "AbortError") return; // a newer request replaced this one
    result = null;
  }
  if (thisRequest !== requestId) return;

  if (!result || result.status !== 200 || !result.body || !Array.isArray(result.body.items)) {
    setStatus("Articles could not be loaded. Please try again.");
    if (!reset) showMoreButton(); // keep "More articles" so that it can be tried again
    return;
  }

  const { items, next_cursor: cursor } = result.body;
  nextCursor = typeof cursor === "string" && cursor ? cursor : null;

  const cards = items.map(articleCard);
  list.append(...cards);
  showMoreButton();

  const shown = list.children.length;
  if (shown === 0) {
    setStatus(currentTag ? "No articles for this topic." : "No articles yet.");
  } else {
    const about = currentTag ? ` about ${topicNames.get(currentTag) || currentTag}` : "";
    setStatus(`Showing ${shown} ${shown === 1 ? "article" : "articles"}${about}.`);
  }

  // After "More articles", continue where the new articles begin.
  if (!reset && cards.length > 0) cards[0].querySelector("a").focus();
}

/** Fill the topic filter from GET /tags; the filter still offers "All topics" if this fails. */
async function loadTags() {
  let result;
  try {
    result = await getJson("/tags");
  } catch {
    return;
  }
  const items = result.status === 200 && result.body && Array.isArray(result.body.items)
    ? result.body.items
    : [];
  for (const { tag, name, count } of items) {
    if (typeof tag !== "string" || !tag) continue;
    const label = typeof name === "string" && name ? name : tag;
    topicNames.set(tag, label);
    const option = element("option", { text: `${label} (${count})` });
    option.value = tag;
    select.append(option);
  }
  // A topic from the page URL that the API no longer lists still shows as chosen.
  if (currentTag && ![...select.options].some((option) => option.value === currentTag)) {
    const option = element("option", { text: currentTag });
    option.value = currentTag;
    select.append(option);
  }
  select.value = currentTag;
}

function rememberTagInUrl() {
  const url = new URL(window.location.href);
  if (currentTag) url.searchParams.set("tag", currentTag);
  else url.searchParams.delete("tag");
  window.history.replaceState(null, "", url);
}

function start() {
  if (!filter || !select || !list || !moreButton || !status) return; // not the list page
  filter.hidden = false;

  currentTag = new URLSearchParams(window.location.search).get("tag") || "";

  select.addEventListener("change", () => {
    currentTag = select.value;
    rememberTagInUrl();
    loadArticles({ reset: true });
  });
  moreButton.addEventListener("click", () => {
    const busy = moreButton.getAttribute("aria-disabled") === "true";
    if (nextCursor !== null && !busy) loadArticles({ reset: false });
  });

  loadTags();
  loadArticles({ reset: true });
}

start();
