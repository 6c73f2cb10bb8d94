// omnieval report: the per-sample browser (and the rating form of `omnieval rate`).
// Everything model- or data-provided is inserted with textContent, never as HTML.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("omnieval-data").textContent);
  const browser = data.browser;
  if (!browser) return;
  const col = {};
  browser.columns.forEach((name, i) => { col[name] = i; });
  const PAGE = 50;
  const FILTERS = ["model", "task", "condition", "outcome", "rule"];
  const rated = new Set((data.rating && data.rating.rated) || []);
  let view = browser.rows;
  let page = 0;
  let current = null;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const filterBox = document.getElementById("filters");
  const selects = {};
  for (const name of FILTERS) {
    const values = Array.from(new Set(browser.rows.map((r) => r[col[name]]))).sort();
    const select = el("select", { id: "filter-" + name, "aria-label": name });
    select.appendChild(el("option", { value: "" }, "all " + name + "s"));
    for (const v of values) select.appendChild(el("option", { value: v }, v === "" ? "(none)" : v));
    select.addEventListener("change", apply);
    filterBox.appendChild(select);
    selects[name] = select;
  }
  const search = el("input", { id: "filter-search", type: "search", placeholder: "sample id or answer" });
  search.addEventListener("input", apply);
  filterBox.appendChild(search);
  if (data.rating) {
    const only = el("label", {}, " unrated only");
    const box = el("input", { id: "filter-unrated", type: "checkbox" });
    box.checked = true;
    box.addEventListener("change", apply);
    only.prepend(box);
    filterBox.appendChild(only);
  }

  function apply() {
    const chosen = {};
    for (const name of FILTERS) chosen[name] = selects[name].value;
    const query = search.value.toLowerCase();
    const unrated = data.rating && document.getElementById("filter-unrated").checked;
    view = browser.rows.filter((r) => {
      for (const name of FILTERS) {
        if (chosen[name] !== "" && r[col[name]] !== chosen[name]) return false;
      }
      if (unrated && rated.has(r[col.key])) return false;
      if (!query) return true;
      return String(r[col.sample_id]).toLowerCase().includes(query) ||
        String(r[col.response] || "").toLowerCase().includes(query);
    });
    page = 0;
    render();
  }

  function scoreText(scores) {
    return Object.entries(scores || {}).map(([k, v]) => k + "=" + (typeof v === "number" ? v.toFixed(3) : v)).join(" ");
  }

  function render() {
    const body = document.querySelector("#samples tbody");
    body.textContent = "";
    document.getElementById("sample-count").textContent = view.length + " of " + browser.rows.length + " trials";
    for (const r of view.slice(page * PAGE, (page + 1) * PAGE)) {
      const tr = el("tr", { "data-key": r[col.key] });
      tr.appendChild(el("td", {}, r[col.model]));
      tr.appendChild(el("td", {}, r[col.task]));
      tr.appendChild(el("td", {}, r[col.sample_id]));
      tr.appendChild(el("td", {}, r[col.condition] + (r[col.replicate] ? " · " + r[col.replicate] : "")));
      tr.appendChild(el("td", { class: "outcome-" + r[col.outcome] }, r[col.outcome]));
      tr.appendChild(el("td", {}, r[col.extraction] === null ? "" : r[col.extraction]));
      tr.appendChild(el("td", {}, r[col.rule]));
      tr.appendChild(el("td", {}, scoreText(r[col.scores])));
      tr.addEventListener("click", () => show(r, tr));
      body.appendChild(tr);
    }
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    document.getElementById("page-info").textContent = "page " + (page + 1) + " / " + pages;
  }

  document.getElementById("prev-page").addEventListener("click", () => { if (page > 0) { page--; render(); } });
  document.getElementById("next-page").addEventListener("click", () => {
    if ((page + 1) * PAGE < view.length) { page++; render(); }
  });

  function mediaNode(entry) {
    const figure = el("figure", {});
    let node;
    if (entry.kind === "video") node = el("video", { controls: "", preload: "metadata", src: entry.src });
    else if (entry.kind === "audio") node = el("audio", { controls: "", preload: "metadata", src: entry.src });
    else if (entry.kind === "image" || entry.kind === "mask") node = el("img", { src: entry.src, alt: entry.name });
    else node = el("a", { href: entry.src }, entry.name);
    figure.appendChild(node);
    figure.appendChild(el("figcaption", {}, entry.kind + ": " + entry.name));
    return figure;
  }

  function show(r, tr) {
    current = r;
    document.querySelectorAll("#samples tbody tr.selected").forEach((n) => n.classList.remove("selected"));
    if (tr) tr.classList.add("selected");
    const detail = document.getElementById("detail");
    detail.textContent = "";
    detail.hidden = false;
    detail.appendChild(el("h3", {}, r[col.model] + " · " + r[col.task] + " · " + r[col.sample_id] + " · " + r[col.condition]));
    const media = el("div", { class: "media" });
    const inputs = browser.media[r[col.media]] || [];
    const firstImage = inputs.find((m) => m.kind === "image");
    for (const entry of inputs) media.appendChild(mediaNode(entry));
    for (const artifact of r[col.artifacts] || []) {
      if ((artifact.kind === "mask" || artifact.kind === "image") && firstImage) {
        const wrap = el("div", { class: "overlay" });
        wrap.appendChild(el("img", { src: firstImage.src, alt: firstImage.name }));
        wrap.appendChild(el("img", { class: "mask", src: artifact.src, alt: artifact.name }));
        const figure = el("figure", {});
        figure.appendChild(wrap);
        figure.appendChild(el("figcaption", {}, "output " + artifact.kind + " over the input: " + artifact.name));
        media.appendChild(figure);
      } else {
        const node = mediaNode(artifact);
        node.querySelector("figcaption").textContent = "output " + artifact.kind + ": " + artifact.name;
        media.appendChild(node);
      }
    }
    for (const entry of r[col.expected] || []) {
      const node = mediaNode(entry);
      node.querySelector("figcaption").textContent = "expected " + entry.name;
      media.appendChild(node);
    }
    detail.appendChild(media);
    detail.appendChild(el("h4", {}, "Prompt"));
    detail.appendChild(el("pre", { class: "prompt" }, browser.prompts[r[col.prompt]]));
    detail.appendChild(el("h4", {}, "Raw output"));
    detail.appendChild(el("pre", { class: "response" }, r[col.response] || r[col.error] || "(none)"));
    const facts = el("table", { class: "facts" });
    const rows = [
      ["extraction", r[col.extraction] === null ? "(none)" : r[col.extraction]],
      ["rule (provenance)", r[col.rule] + (r[col.ok] === false ? " (not parsed)" : "")],
      ["expected", r[col.answer] === null ? "" : r[col.answer]],
      ["scores", scoreText(r[col.scores])],
      ["outcome", r[col.outcome]],
      ["error", r[col.error]],
      ["trial key", r[col.key]],
    ];
    for (const [k, v] of rows) {
      const tr2 = el("tr", {});
      tr2.appendChild(el("th", {}, k));
      tr2.appendChild(el("td", {}, v));
      facts.appendChild(tr2);
    }
    detail.appendChild(facts);
    if (data.rating) detail.appendChild(ratingForm(r));
  }

  function ratingForm(r) {
    const form = el("form", { id: "rating-form" });
    form.appendChild(el("h4", {}, "Your rating (" + data.rating.rater + ")"));
    for (let score = 1; score <= 5; score++) {
      const label = el("label", {}, " " + score);
      label.prepend(el("input", { type: "radio", name: "rating", value: String(score) }));
      form.appendChild(label);
    }
    form.appendChild(el("br", {}));
    form.appendChild(el("textarea", { name: "comment", rows: "2", cols: "60", placeholder: "comment (optional)" }));
    form.appendChild(el("br", {}));
    const status = el("span", { id: "rating-status" });
    form.appendChild(el("button", { type: "submit" }, "Save rating"));
    form.appendChild(status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chosen = form.querySelector("input[name=rating]:checked");
      if (!chosen) { status.textContent = " choose 1-5 first"; return; }
      const reply = await fetch(data.rating.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ key: r[col.key], rating: Number(chosen.value), comment: form.comment.value }),
      });
      if (!reply.ok) { status.textContent = " not saved: " + (await reply.text()); return; }
      rated.add(r[col.key]);
      status.textContent = " saved";
      const next = view.find((row) => !rated.has(row[col.key]) && row !== r);
      apply();
      if (next) show(next, document.querySelector('#samples tbody tr[data-key="' + next[col.key] + '"]'));
    });
    return form;
  }

  apply();
  if (data.rating && view.length) show(view[0], document.querySelector("#samples tbody tr"));
})();
