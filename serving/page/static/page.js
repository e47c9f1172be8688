// The page's only script: reads the query string, calls the service's JSON API and draws its answers.
// Every value from the API or the address bar reaches the page as text (textContent, setAttribute on links this
// script builds), never as HTML, and the service's Content-Security-Policy forbids inline scripts besides.
"use strict";

const $ = (id) => document.getElementById(id);
const K = 10;

class ApiError extends Error {
  constructor(status, message, parameter) {
    super(message);
    this.status = status;
    this.parameter = parameter;
  }
}

/** The API's JSON answer, or an ApiError carrying the API's own words. */
async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : response.statusText;
    throw new ApiError(response.status, message, body ? body.parameter : null);
  }
  return body;
}

/** Bidi controls (embeddings, overrides, isolates, marks): text from the data must not reorder what is around it. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** The most characters one value shows; the whole of it is in the element's tooltip. */
const LONGEST = 300;

/** ``value`` as text to show: without bidi controls, and cut to LONGEST characters (whole code points). */
function shown(value) {
  const text = String(value).replace(BIDI_CONTROLS, "");
  return text.length > LONGEST ? [...text].slice(0, LONGEST - 1).join("") + "…" : text;
}

/** An element with attributes and children (strings become text nodes, as ``shown`` shows them; a cut one puts its
 * whole text in the element's title). Links and sources keep their values as they are: they carry ids. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "title" || key === "alt") node.setAttribute(key, String(value).replace(BIDI_CONTROLS, ""));
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    if (child instanceof Node) {
      node.append(child);
      continue;
    }
    const text = shown(child);
    if (text !== String(child) && !node.hasAttribute("title")) node.setAttribute("title", String(child).replace(BIDI_CONTROLS, ""));
    node.append(text);
  }
  return node;
}

/** A link to this page showing ``what`` (user, item, items or image) = ``value``. */
function here(what, value) {
  return "/?" + new URLSearchParams({ [what]: value }).toString();
}

function query(path, parameters) {
  return path + "?" + new URLSearchParams(parameters).toString();
}

function showError(error) {
  const box = $("error");
  box.textContent = shown(error instanceof ApiError ? `${error.status}: ${error.message}` : String(error));
  box.hidden = false;
}

function errorNote(error) {
  return el("p", { class: "error" }, error instanceof ApiError ? `${error.status}: ${error.message}` : String(error));
}

const NOT_METADATA = new Set(["item", "score", "title", "name"]);

/** An item as a list entry: its title (else its id) linking to its page, its other metadata, its score. */
function itemEntry(item, scoreLabel, marks) {
  const title = item.title ?? item.name ?? item.item;
  const details = Object.entries(item)
    .filter(([key, value]) => !NOT_METADATA.has(key) && value !== null && value !== "")
    .map(([key, value]) => `${key}: ${value}`);
  if (title !== item.item) details.unshift(item.item);
  const entry = el(
    "li",
    { class: marks ? marks.class : null, "data-item": item.item },
    el("a", { href: here("item", item.item) }, title),
    marks ? el("span", { class: "badge", title: marks.title }, marks.text) : null,
    el("span", { class: "quiet" }, details.join(" · ")),
    el("span", { class: "score", title: scoreLabel }, Number(item.score).toPrecision(3)),
  );
  return entry;
}

function itemList(items, scoreLabel, marksOf) {
  if (!items.length) return el("p", { class: "quiet" }, "nothing");
  return el("ol", { class: "items" }, ...items.map((item) => itemEntry(item, scoreLabel, marksOf && marksOf(item))));
}

function view(title, ...children) {
  const section = $("view");
  section.replaceChildren(el("h2", {}, title), ...children);
  document.title = `${shown(title)} · recsys`;
}

async function showAbout() {
  const about = await api("/bundle");
  const parts = [];
  if (about.version) {
    const input = about.input || {};
    parts.push(`bundle ${about.version}`);
    if (about.created) parts.push(`built ${about.created.replace("T", " ").slice(0, 16)} UTC`);
    if (input.path) parts.push(`from ${input.path} (${input.format})`);
    if (about.counts) {
      parts.push(`${about.counts.users.toLocaleString()} users, ${about.counts.items.toLocaleString()} items`);
    }
  }
  if (about.images) parts.push(`images: ${about.images.images.toLocaleString()} (${about.images.backbone})`);
  const line = $("about");
  line.replaceChildren(parts.join(" · "));
  if (about.report) line.append(" · ", el("a", { href: about.report }, "evaluation report"));
  $("upload").hidden = !about.images;
  return about;
}

async function showHome(about) {
  if (!about.version) {
    view("Images", el("p", {}, "Drop an image below, or open one by its id: /?image=ID."));
    return;
  }
  const models = await api("/models");
  const metricNames = ["recall@10", "ndcg@10"];
  const rows = models.models.map((model) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, model.name + (model.default ? " (default)" : "")),
      ...metricNames.map((name) => el("td", {}, model.metrics ? Number(model.metrics[name]).toFixed(4) : "–")),
    ),
  );
  view(
    "Models",
    el("p", {}, "Search above for a user or a track, or open one by its id: /?user=ID, /?item=ID, /?items=A,B,C."),
    el(
      "table",
      {},
      el(
        "caption",
        {},
        models.split ? `The bundle's own evaluation (${models.split} split)` : "No evaluation ran for this bundle",
      ),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "model"), ...metricNames.map((n) => el("th", { scope: "col" }, n)))),
      el("tbody", {}, ...rows),
    ),
  );
}

async function showUser(user) {
  const [held, models] = await Promise.all([api(query("/user-items", { user, k: 50 })), api("/models")]);
  const served = [...models.models].sort((a, b) => Number(b.default) - Number(a.default));
  const answers = await Promise.all(
    served.map((model) =>
      api(query("/recommend", { user, model: model.name, k: K })).catch((error) => ({ error, model: model.name })),
    ),
  );
  const listedBy = new Map();
  for (const answer of answers) {
    for (const item of answer.items || []) listedBy.set(item.item, (listedBy.get(item.item) || 0) + 1);
  }
  const agreed = (item) => {
    const count = listedBy.get(item.item);
    return count > 1 ? { class: "agreed", text: `★${count}`, title: `in ${count} models' lists` } : null;
  };
  const columns = answers.map((answer, i) =>
    el(
      "div",
      { class: "column", "data-model": served[i].name },
      el("h3", {}, served[i].name + (served[i].default ? " (default)" : "")),
      answer.error ? errorNote(answer.error) : itemList(answer.items, `${served[i].name} score`, agreed),
    ),
  );
  const similar = await api(query("/similar-users", { user, k: 8 })).catch((error) => ({ error }));
  const heading = held.name ? `${user}: ${held.name}` : user;
  view(
    heading,
    el("h3", {}, `Holds ${held.total.toLocaleString()} items` + (held.total > held.items.length ? ` (latest ${held.items.length})` : "")),
    el("details", {}, el("summary", {}, "its items, latest first"), itemList(held.items, "times held")),
    el("h3", {}, "Next for it, by each model (★: several models agree)"),
    el("div", { class: "columns" }, ...columns),
    el("h3", {}, "Similar users"),
    similar.error
      ? errorNote(similar.error)
      : el(
          "ul",
          { class: "users" },
          ...similar.users.map((other) =>
            el("li", {}, el("a", { href: here("user", other.user) }, other.user), el("span", { class: "score" }, other.score.toFixed(3))),
          ),
        ),
  );
}

async function showItem(item) {
  const details = await api(query("/item-details", { items: item }));
  const similar = await api(query("/similar-items", { item, k: K }));
  const it = details.items[0];
  view(
    it.title ?? it.item,
    itemList(details.items, "users holding it"),
    el("h3", {}, "Similar items"),
    itemList(similar.items, "cosine similarity"),
  );
}

async function showSession(items) {
  const ids = items.split(",").filter(Boolean);
  const given = await api(query("/item-details", { items: ids.join(",") }));
  const next = await api(query("/next", { items: ids.join(","), k: K }));
  view("A session", itemList(given.items, "users holding it"), el("h3", {}, "Next songs"), itemList(next.items, "score"));
}

function imageTile(image) {
  return el(
    "li",
    { "data-image": image.image },
    el("a", { href: here("image", image.image) }, el("img", { src: query("/images/thumbnail", { image: image.image }), alt: image.image, loading: "lazy" })),
    el("span", {}, image.label ?? ""),
    el("span", { class: "score" }, image.score.toFixed(3)),
  );
}

async function showImage(image) {
  const similar = await api(query("/similar-images", { image, k: 12 }));
  view(
    image,
    el("img", { class: "query", src: query("/images/thumbnail", { image }), alt: image }),
    el("h3", {}, "Nearest images"),
    el("ul", { class: "images" }, ...similar.images.map(imageTile)),
  );
}

async function upload(file) {
  const out = $("uploaded");
  out.replaceChildren(el("p", { class: "quiet" }, "embedding…"));
  const form = new FormData();
  form.append("file", file);
  try {
    const answer = await api(query("/similar-images", { k: 12 }), { method: "POST", body: form });
    const prediction = answer.prediction;
    out.replaceChildren(
      el("img", { class: "query", src: URL.createObjectURL(file), alt: file.name }),
      prediction
        ? el("p", { class: "prediction" }, `Looks like: ${prediction.label} (${(100 * prediction.probability).toFixed(0)}%)`)
        : null,
      el("ul", { class: "images" }, ...answer.images.map(imageTile)),
    );
  } catch (error) {
    out.replaceChildren(errorNote(error));
  }
}

function setUpUpload() {
  const input = $("file");
  const drop = $("drop");
  input.addEventListener("change", () => input.files.length && upload(input.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
  });
}

function setUpSearch() {
  const box = $("q");
  const found = $("found");
  let pending = 0;
  box.addEventListener("input", () => {
    const text = box.value.trim();
    const ticket = ++pending;
    if (!text) {
      found.replaceChildren();
      return;
    }
    setTimeout(async () => {
      if (ticket !== pending) return; // typed on: only the latest query is asked
      try {
        const answer = await api(query("/search", { q: text, k: 8 }));
        if (ticket !== pending) return;
        const users = answer.users.map((u) =>
          el("li", {}, el("a", { href: here("user", u.user) }, `user ${u.user}` + (u.name ? `: ${u.name}` : "")), el("span", { class: "quiet" }, ` ${u.items} items`)),
        );
        const items = answer.items.map((item) => itemEntry(item, "users holding it"));
        found.replaceChildren(...users, ...items);
        if (!users.length && !items.length) found.replaceChildren(el("li", { class: "quiet" }, "no match"));
      } catch (error) {
        found.replaceChildren(el("li", {}, errorNote(error)));
      }
    }, 150);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      const first = found.querySelector("a");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    } else if (event.key === "Escape") {
      box.value = "";
      found.replaceChildren();
    }
  });
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    const first = found.querySelector("a");
    if (first) window.location.href = first.getAttribute("href");
  });
}

async function main() {
  setUpSearch();
  setUpUpload();
  const parameters = new URLSearchParams(window.location.search);
  try {
    const about = await showAbout();
    if (parameters.get("user")) await showUser(parameters.get("user"));
    else if (parameters.get("item")) await showItem(parameters.get("item"));
    else if (parameters.get("items")) await showSession(parameters.get("items"));
    else if (parameters.get("image")) await showImage(parameters.get("image"));
    else await showHome(about);
  } catch (error) {
    showError(error);
  }
  document.body.dataset.ready = "true"; // for the browser tests: everything this address asks for is drawn
}

main();
