// The status page's behaviour: the filter box, "Refresh now", live ages. No framework, no build step.
// Data from /status.json only ever reaches the page as text nodes (never innerHTML), so the escaping
// the server does for the first render holds here too. The refresh token stays in this closure.
"use strict";

(function () {
  const COLUMNS = ["Metric", "Value", "Goal", "Score", "Age", "State"];
  const POLL_MS = 2000;
  const MAX_POLLS = 90;
  let token = "";
  let renderedAt = performance.now(); // when the ages on the page were last right
  let busy = false;

  const byId = (id) => document.getElementById(id);

  function ageText(seconds) {
    // The same words as exporter/web/status_page.py age_text.
    const whole = Math.max(0, Math.floor(seconds));
    if (whole < 60) return whole + " s ago";
    if (whole < 3600) return Math.floor(whole / 60) + " min ago";
    if (whole < 86400) return Math.floor(whole / 3600) + " h ago";
    return Math.floor(whole / 86400) + " d ago";
  }

  function tickAges() {
    const elapsed = (performance.now() - renderedAt) / 1000;
    for (const age of document.querySelectorAll(".age")) {
      const text = ageText(parseFloat(age.dataset.age) + elapsed);
      if (age.textContent !== text) age.textContent = text;
    }
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function ageElement(seconds, at) {
    const attributes = { class: "age", "data-age": seconds.toFixed(3) };
    if (at) attributes.title = "computed " + at;
    return element("span", attributes, ageText(seconds));
  }

  function rowElements(row) {
    const tr = element("tr", { class: "metric " + row.state });
    const th = element("th", { scope: "row" });
    th.append(element("a", { class: "key", href: "#about-" + row.key }, row.key));
    const labels = Object.entries(row.labels).map(([name, value]) => name + " " + value).join(" ");
    if (labels) th.append(" ", element("span", { class: "labels" }, labels));
    tr.append(th);
    tr.append(element("td", { "data-label": "Value" }, row.value));
    tr.append(element("td", { "data-label": "Goal" }, row.goal));
    tr.append(element("td", { "data-label": "Score" }, (row.verdict + " " + row.score).trim()));
    const age = element("td", { "data-label": "Age" });
    if (row.age_seconds !== null) age.append(ageElement(row.age_seconds, row.value_at));
    tr.append(age);
    tr.append(element("td", { "data-label": "State" }, row.status));
    if (!row.error) return [tr];
    const error = element("tr", { class: "error" });
    const cell = element("td", { colspan: String(COLUMNS.length) });
    cell.append("Last error (" + row.error.reason + ", " + row.error.at + "): " + row.error.text);
    error.append(cell);
    return [tr, error];
  }

  function repoElement(repo) {
    const section = element("section", { class: "repo " + repo.state, "data-repo": repo.name.toLowerCase() });
    const heading = element("h2");
    heading.append(element("span", { class: "name" }, repo.name), " ");
    heading.append(element("span", { class: "branch" }, repo.branch), " ");
    heading.append(element("span", { class: "verdict" }, repo.summary));
    const table = element("table");
    const headRow = element("tr");
    for (const name of COLUMNS) headRow.append(element("th", { scope: "col" }, name));
    const head = element("thead");
    head.append(headRow);
    const body = element("tbody");
    for (const row of repo.rows) body.append(...rowElements(row));
    table.append(head, body);
    section.append(heading, table);
    return section;
  }

  function render(page) {
    const fragment = document.createDocumentFragment();
    for (const repo of page.repos) fragment.append(repoElement(repo));
    byId("repos").replaceChildren(fragment);
    byId("summary").textContent = page.summary;
    byId("last-refresh").textContent = page.last_refresh;
    const box = byId("last-refresh-age");
    box.replaceChildren();
    if (page.last_refresh_age_seconds !== null) box.append(" (", ageElement(page.last_refresh_age_seconds), ")");
    byId("rate-limit").textContent = page.rate_limit;
    document.body.dataset.refreshing = page.refreshing ? "true" : "false";
    renderedAt = performance.now();
    applyFilter();
  }

  async function reload() {
    const response = await fetch("/status.json", { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("status.json answered " + response.status);
    const page = await response.json();
    render(page);
    return page;
  }

  function say(text, kind) {
    const message = byId("message");
    message.textContent = text;
    message.dataset.kind = kind || "";
  }

  function setBusy(value) {
    busy = value;
    const button = byId("refresh");
    button.disabled = value;
    button.textContent = value ? "Refreshing…" : "Refresh now";
    byId("repos").setAttribute("aria-busy", value ? "true" : "false");
  }

  async function refreshNow() {
    if (busy) return;
    const input = byId("token");
    if (input) token = input.value.trim();
    if (input && !token) {
      say("✗ This exporter needs its refresh token (EXPORTER_REFRESH_TOKEN): enter it first.", "error");
      input.focus();
      return;
    }
    setBusy(true);
    say("… Refreshing: reading every repository from GitHub.", "running");
    try {
      const headers = token ? { Authorization: "Bearer " + token } : {};
      const response = await fetch("/refresh", { method: "POST", headers: headers, cache: "no-store" });
      if (response.status === 401) {
        token = "";
        if (input) {
          input.value = "";
          input.focus();
        }
        say("✗ Refused: the refresh token is missing or wrong. Enter the token (EXPORTER_REFRESH_TOKEN).", "error");
        return;
      }
      if (response.status === 429) {
        const wait = response.headers.get("Retry-After") || "a few";
        say("⏳ Refreshed moments ago: wait " + wait + " s before refreshing again.", "error");
        return;
      }
      if (!response.ok) {
        let detail = "";
        try {
          detail = (await response.json()).error || "";
        } catch (ignored) {
          detail = "";
        }
        say("✗ The refresh did not finish (" + response.status + (detail ? ": " + detail : "") + ").", "error");
        return;
      }
      const page = await reload();
      say("✓ Refreshed: " + page.last_refresh + ".", "done");
    } catch (failure) {
      say("✗ Could not reach the exporter (" + failure.message + ").", "error");
    } finally {
      setBusy(false);
    }
  }

  async function followRunningRefresh() {
    // The page was made while a refresh ran: show its result once it is applied.
    for (let poll = 0; poll < MAX_POLLS && document.body.dataset.refreshing === "true"; poll++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      try {
        const page = await reload();
        if (!page.refreshing) say("✓ Refreshed: " + page.last_refresh + ".", "done");
      } catch (failure) {
        say("✗ Could not reach the exporter (" + failure.message + ").", "error");
        return;
      }
    }
  }

  function applyFilter() {
    const query = byId("filter").value.trim().toLowerCase();
    let shown = 0;
    for (const repo of byId("repos").children) {
      const match = !query || repo.dataset.repo.includes(query);
      repo.hidden = !match;
      if (match) shown++;
    }
    byId("no-match").hidden = shown > 0;
  }

  byId("actions").hidden = false;
  byId("filter-box").hidden = false;
  byId("refresh").addEventListener("click", refreshNow);
  const input = byId("token");
  if (input) {
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") refreshNow();
    });
  }
  byId("filter").addEventListener("input", applyFilter);
  setInterval(tickAges, 1000);
  if (document.body.dataset.refreshing === "true") followRunningRefresh();
})();
