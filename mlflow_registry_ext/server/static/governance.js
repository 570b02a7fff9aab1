// The reviewer page: review queue, a model version's governance view, audit search, webhooks.
// Plain DOM code, no external libraries; every value is inserted as text, never as HTML.
"use strict";

const API = document.body.dataset.apiBase;
const UI = document.body.dataset.uiBase;
const main = document.getElementById("main");

// Each view renders into a detached container that replaces the page only once it is complete
// and still the newest: the old view stays readable meanwhile, and a slow, superseded render
// never lands.
let newest = 0;
function newView() {
  const view = h("div", { class: "view" });
  view.dataset.token = String(++newest);
  return view;
}
function attach(view) {
  if (view.dataset.token === String(newest)) main.replaceChildren(view);
}
let session = { user: "", admin: false, authenticated: false, can_decide: false };

// -- helpers -------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function when(ms) {
  if (ms === null || ms === undefined) return "-";
  // The one format of every face (mlflow_registry_ext/times.py): ISO 8601, UTC, Z, seconds.
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}

function badge(text) {
  const value = text || "none";
  return h("span", { class: "badge b-" + String(value).split(/[ /]/)[0] }, value);
}

function stockVersionLink(model, version) {
  const href = UI + "#/models/" + encodeURIComponent(model) + "/versions/" + encodeURIComponent(version);
  return h("a", { href, title: "Open in the MLflow UI" }, "MLflow UI");
}

function versionLink(model, version) {
  return h("a", { href: "#/version/" + encodeURIComponent(model) + "/" + encodeURIComponent(version) },
    model + " v" + version);
}

function flash(message, ok) {
  const box = document.getElementById("flash");
  box.replaceChildren(h("div", { class: ok ? "ok" : "err", role: ok ? null : "alert" }, message));
}

async function api(path, options) {
  const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  if (opts.body !== undefined && typeof opts.body !== "string") {
    opts.body = JSON.stringify(opts.body);
    opts.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(API + path, opts);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const message = data && data.message ? data.message : "HTTP " + response.status;
    const error = new Error(message);
    error.code = data && data.error_code;
    throw error;
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const text = q.toString();
  return text ? "?" + text : "";
}

function table(headers, rows, emptyText) {
  if (!rows.length) return h("p", { class: "empty" }, emptyText || "Nothing to show.");
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows));
}

function describeChange(entry) {
  const keys = new Set([...Object.keys(entry.before || {}), ...Object.keys(entry.after || {})]);
  const parts = [];
  for (const key of keys) {
    const fmt = (v) => (v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));
    parts.push(key + ": " + fmt((entry.before || {})[key]) + " → " + fmt((entry.after || {})[key]));
  }
  return parts.join("; ");
}

function target(entry) {
  const bits = [];
  if (entry.model) bits.push(entry.model);
  if (entry.version) bits.push("v" + entry.version);
  if (entry.alias) bits.push("@" + entry.alias);
  return bits.join(" ");
}

// -- deciding --------------------------------------------------------------------------------

function decisionControls(request, after) {
  const box = h("div", { class: "decide" });
  if (!["pending", "approved"].includes(request.status)) return box;
  const id = "comment-" + request.id;
  const comment = h("textarea", { id, rows: 2, placeholder: "Comment (optional)",
    "aria-label": "Comment on request " + request.id });
  async function act(action, label) {
    for (const b of box.querySelectorAll("button")) b.disabled = true;
    try {
      const body = action === "comment" ? { text: comment.value } : { comment: comment.value || null };
      const updated = await api("/approval-requests/" + encodeURIComponent(request.id) + "/" + action,
        { method: "POST", body });
      flash(label + ": " + request.model + " version " + request.version + " → " + request.target +
        " is now " + updated.status + " (" + updated.approvals_text + ")", true);
      after();
    } catch (err) {
      flash(label + " refused: " + err.message, false);
      for (const b of box.querySelectorAll("button")) b.disabled = false;
    }
  }
  const canDecide = session.can_decide;
  box.append(comment, h("div", { class: "actions" },
    h("button", { class: "approve", disabled: !canDecide, onclick: () => act("approve", "Approved") }, "Approve"),
    h("button", { class: "reject", disabled: !canDecide, onclick: () => act("reject", "Rejected") }, "Reject"),
    h("button", { disabled: !canDecide, onclick: () => act("comment", "Commented") }, "Comment")));
  if (!canDecide) box.append(h("p", { class: "muted" }, "Log in to decide (the server runs without authentication)."));
  return box;
}

// -- review queue ------------------------------------------------------------------------------

async function showQueue(root) {
  const mine = new URLSearchParams(location.hash.split("?")[1] || "").get("mine") === "1";
  const toggle = h("input", { type: "checkbox", id: "only-mine", checked: mine,
    onchange: (e) => { location.hash = "#/queue" + (e.target.checked ? "?mine=1" : ""); } });
  root.replaceChildren(
    h("h2", {}, "Review queue"),
    h("p", { class: "muted" }, "Open approval requests, newest first. Approve or reject with an optional comment."),
    h("label", { class: "check", for: "only-mine" }, h("span", {}, toggle, " Only requests I can decide")));
  const params = mine ? { reviewable: "true", limit: 200 } : { limit: 200 };
  const [pending, approved] = await Promise.all([
    api("/approval-requests" + query(Object.assign({ status: "pending" }, params))),
    mine ? Promise.resolve({ requests: [] }) : api("/approval-requests" + query({ status: "approved", limit: 200 })),
  ]);
  // Lists carry no timelines; fetch them for the rows shown so reviewers see why it was asked.
  const listed = pending.requests.concat(approved.requests);
  const requests = await Promise.all(listed.slice(0, 50).map((r) =>
    api("/approval-requests/" + encodeURIComponent(r.id)).catch(() => r)));
  const rows = requests.map((r) => h("tr", { "data-request": r.id },
    h("td", {}, versionLink(r.model, r.version), h("br"), stockVersionLink(r.model, r.version)),
    h("td", {}, r.target_kind + " ", h("strong", {}, r.target), r.action !== "promote" ? " (" + r.action + ")" : ""),
    h("td", {}, r.requester, h("br"), h("span", { class: "muted" }, when(r.created_at_ms))),
    h("td", {}, badge(r.status), " ", h("span", { class: "num" }, r.approvals_text),
      r.expires_at_ms ? h("div", { class: "muted" }, "expires " + when(r.expires_at_ms)) : null),
    h("td", {}, (r.comments || []).length ? [h("strong", {}, r.comments[r.comments.length - 1].author + ": "),
      r.comments[r.comments.length - 1].text] : h("span", { class: "muted" }, "-")),
    h("td", {}, decisionControls(r, route))));
  root.append(h("div", { class: "card" },
    table(["Model version", "Target", "Requested by", "Status", "Latest note", "Decision"], rows,
      "No open requests.")));
  if (listed.length > requests.length) root.append(h("p", { class: "muted" }, "Showing the newest 50 open requests."));
}

// -- a model version -------------------------------------------------------------------------

function fairnessChart(check) {
  const groups = check.by_group || [];
  const base = Object.keys(check.overall || {})[0] || (groups[0] && Object.keys(groups[0].values)[0]);
  if (!base || !groups.length) return null;
  const width = 520, row = 24, left = 140, top = 22;
  const values = groups.map((g) => g.values[base] || 0);
  const max = Math.max(1e-9, ...values, check.overall[base] || 0);
  const height = top + row * (groups.length + 1) + 8;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${base} by ${check.sensitive_feature}`);
  const text = (x, y, s, anchor) => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", "12");
    if (anchor) t.setAttribute("text-anchor", anchor);
    t.textContent = s; svg.append(t);
  };
  text(0, 14, `${base} per group of ${check.sensitive_feature}`);
  const bars = groups.map((g) => [g.group ? Object.values(g.group).join(", ") : "?", g.values[base] || 0, false]);
  bars.push(["overall", check.overall[base] || 0, true]);
  bars.forEach(([label, value, overall], i) => {
    const y = top + i * row;
    const w = Math.max(1, ((width - left - 60) * value) / max);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", left); rect.setAttribute("y", y); rect.setAttribute("width", w);
    rect.setAttribute("height", row - 6); rect.setAttribute("class", overall ? "bar overall" : "bar");
    svg.append(rect);
    text(left - 6, y + 13, label, "end");
    text(left + w + 4, y + 13, value.toFixed(3));
  });
  return h("div", { class: "chart" }, svg);
}

function fairnessCard(checks) {
  const card = h("section", { class: "card", "aria-labelledby": "fairness-h" }, h("h3", { id: "fairness-h" }, "Fairness checks"));
  if (!checks.length) { card.append(h("p", { class: "empty" }, "No fairness checks recorded.")); return card; }
  card.append(table(["Metric", "Feature", "Value", "Threshold", "Result", "Dataset", "Recorded"],
    checks.map((c) => h("tr", {},
      h("td", {}, c.metric), h("td", {}, c.sensitive_feature), h("td", { class: "num" }, Number(c.value).toFixed(4)),
      h("td", {}, thresholdText(c)), h("td", {}, badge(c.passed === null ? "no threshold" : c.passed ? "passed" : "failed")),
      h("td", {}, c.dataset_name || "-"), h("td", {}, (c.actor || "") + ", " + when(c.created_at_ms))))));
  for (const c of checks) { const chart = fairnessChart(c); if (chart) card.append(chart); }
  return card;
}

function thresholdText(c) {
  const parts = [];
  if (c.threshold_min !== null && c.threshold_min !== undefined) parts.push("min " + c.threshold_min);
  if (c.threshold_max !== null && c.threshold_max !== undefined) parts.push("max " + c.threshold_max);
  return parts.join(" ") || "-";
}

function requestsCard(requests, reload) {
  const card = h("section", { class: "card", "aria-labelledby": "requests-h" }, h("h3", { id: "requests-h" }, "Approval requests and decisions"));
  if (!requests.length) { card.append(h("p", { class: "empty" }, "No approval requests for this version.")); return card; }
  for (const r of requests) {
    const decisions = (r.decisions || []).map((d) => h("li", {}, badge(d.decision === "approve" ? "approved" : "rejected"),
      " ", d.reviewer, " at ", when(d.decided_at_ms), d.comment ? ": “" + d.comment + "”" : ""));
    const notes = (r.comments || []).map((c) => h("li", {}, h("strong", {}, c.author), " (" + c.kind + ", " + when(c.created_at_ms) + "): ", c.text));
    card.append(h("div", { class: "card", "data-request": r.id },
      h("p", {}, badge(r.status), " ", r.action, " to ", r.target_kind, " ", h("strong", {}, r.target),
        " — requested by ", r.requester, " at ", when(r.created_at_ms), " — approvals ", r.approvals_text),
      r.closed_reason ? h("p", { class: "muted" }, r.closed_reason) : null,
      decisions.length ? h("ul", { class: "timeline" }, decisions) : null,
      notes.length ? h("details", {}, h("summary", {}, "Timeline (" + notes.length + ")"), h("ul", { class: "timeline" }, notes)) : null,
      decisionControls(r, reload)));
  }
  return card;
}

function auditRows(entries) {
  return entries.map((e) => h("tr", {},
    h("td", { class: "num" }, e.seq), h("td", { class: "when" }, when(e.timestamp_ms)), h("td", {}, e.actor),
    h("td", {}, e.action), h("td", {}, target(e)), h("td", { class: "change" }, describeChange(e))));
}

async function showVersion(root, model, version) {
  const form = h("form", { class: "inline", onsubmit: (e) => {
    e.preventDefault();
    location.hash = "#/version/" + encodeURIComponent(form.model.value) + "/" + encodeURIComponent(form.version.value);
  } },
    h("label", {}, "Registered model", h("input", { name: "model", required: true, value: model || "", size: 28 })),
    h("label", {}, "Version", h("input", { name: "version", required: true, value: version || "", size: 6 })),
    h("button", { class: "primary", type: "submit" }, "Show"));
  root.replaceChildren(h("h2", {}, model ? model + " version " + version : "Model version"), form);
  if (!model || !version) return;
  const reload = route;
  const q = query({ model, version });
  const [status, policy, requests, checks, audit] = await Promise.all([
    api("/status" + q).catch((e) => ({ error: e.message })),
    api("/policy" + query({ model })),
    api("/approval-requests" + query({ model, version, limit: 50 })),
    api("/fairness-checks" + query({ model, version, latest: "true" })),
    api("/audit" + query({ model, version, limit: 200 })),
  ]);
  const aliases = policy.rule ? policy.rule.protected_aliases : [];
  const histories = await Promise.all(aliases.map((alias) => api("/audit/alias-history" + query({ model, alias }))));
  root.append(h("p", {}, stockVersionLink(model, version), " · ", h("a", { href: UI + "#/models/" + encodeURIComponent(model) }, "All versions in the MLflow UI")));
  const facts = h("dl", { class: "facts" });
  const fact = (k, v) => facts.append(h("dt", {}, k), h("dd", {}, v));
  if (status.error) fact("Status", status.error);
  else {
    fact("Status", badge(status.status)); fact("Approvals", status.approvals || "-");
    fact("Fairness", badge(status.fairness || "none")); fact("Rule", status.rule || "no rule: nothing protected");
    fact("Artifact digest (approved)", h("span", { class: "mono" }, status.artifact_digest || "-"));
  }
  const digestBox = h("div", {}, h("button", { onclick: async (e) => {
    e.target.disabled = true;
    try {
      const d = await api("/artifacts/digest" + q);
      digestBox.replaceChildren(h("p", { class: "mono" }, d.digest), h("p", { class: "muted" }, d.file_count + " files, " + d.total_size + " bytes"),
        table(["Path", "Size", "SHA-256"], d.files.map((f) => h("tr", {}, h("td", {}, f.path), h("td", { class: "num" }, f.size), h("td", { class: "mono" }, f.sha256)))));
    } catch (err) { digestBox.replaceChildren(h("p", { role: "alert" }, "Digest unavailable: " + err.message)); }
  } }, "Compute the current artifact digest"));
  const rule = h("section", { class: "card", "aria-labelledby": "rule-h" }, h("h3", { id: "rule-h" }, "Policy rule"));
  if (!policy.rule) rule.append(h("p", { class: "empty" }, "No rule matches this model: nothing is protected."));
  else {
    rule.append(h("p", {}, policy.rule_name, policy.reviewers.length ? " — reviewers: " + policy.reviewers.join(", ") : ""));
    for (const req of policy.requirements.filter((r) => r.action === "promote")) {
      rule.append(h("p", {}, "Setting ", req.target_kind, " ", h("strong", {}, req.target), " requires:"),
        h("ul", { class: "plain" }, req.requirements.map((x) => h("li", {}, x))));
    }
  }
  const history = h("section", { class: "card", "aria-labelledby": "history-h" }, h("h3", { id: "history-h" }, "Alias history"));
  aliases.forEach((alias, i) => {
    history.append(h("p", {}, h("strong", {}, "@" + alias)), table(["Since", "Version", "By", "Entry"],
      histories[i].history.map((x) => h("tr", {}, h("td", {}, when(x.since_ms)), h("td", {}, x.version === null ? "(deleted)" : x.version),
        h("td", {}, x.actor), h("td", { class: "num" }, x.seq))), "Never set."));
  });
  if (!aliases.length) history.append(h("p", { class: "empty" }, "No protected aliases."));
  root.append(
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "status-h" }, h("h3", { id: "status-h" }, "Governance status"), facts, digestBox),
      rule),
    requestsCard(requests.requests, reload),
    fairnessCard(checks.checks),
    history,
    h("section", { class: "card", "aria-labelledby": "trail-h" }, h("h3", { id: "trail-h" }, "Audit trail"),
      table(["#", "When", "Who", "Action", "Target", "Change"], auditRows(audit.entries), "No audit entries.")));
}

// -- audit search ----------------------------------------------------------------------------------

async function showAudit(root) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const field = (name, label, size) => h("label", {}, label, h("input", { name, value: params.get(name) || "", size: size || 16 }));
  const form = h("form", { class: "inline", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const el of form.querySelectorAll("input")) if (el.value) q.set(el.name, el.value);
    location.hash = "#/audit?" + q.toString();
  } }, field("model", "Model"), field("actor", "Actor", 12), field("action", "Action", 24),
    field("since", "Since (ISO or ms)", 16), field("until", "Until", 16), h("button", { class: "primary", type: "submit" }, "Search"));
  root.replaceChildren(h("h2", {}, "Audit log"), form);
  const filters = Object.fromEntries(["model", "actor", "action", "since", "until"].map((k) => [k, params.get(k)]));
  const [verify, page] = await Promise.all([
    api("/audit/verify", { method: "POST", body: {} }),
    api("/audit" + query(Object.assign({ limit: 500 }, filters))),
  ]);
  root.append(verify.ok
    ? h("div", { class: "banner ok", role: "status" }, "Hash chain intact: " + verify.checked + " entries verified.")
    : h("div", { class: "banner bad", role: "alert" }, "Hash chain BROKEN at entry " + verify.first_bad_seq + ": " + verify.reason));
  root.append(h("div", { class: "card" },
    table(["#", "When", "Who", "Action", "Target", "Change"], auditRows(page.entries), "No entries match.")));
  if (page.next_after_seq) root.append(h("p", { class: "muted" }, "Showing the first 500 entries; narrow the search to see more."));
}

// -- webhooks ------------------------------------------------------------------------------------

async function showWebhooks(root) {
  root.replaceChildren(h("h2", {}, "Webhooks"));
  if (!session.admin) { root.append(h("p", { class: "empty" }, "Webhooks and their deliveries are shown to MLflow admins only.")); return; }
  const status = new URLSearchParams(location.hash.split("?")[1] || "").get("status") || "";
  const [hooks, deliveries] = await Promise.all([api("/webhooks"), api("/deliveries" + query({ status, limit: 200 }))]);
  root.append(h("section", { class: "card", "aria-labelledby": "subs-h" }, h("h3", { id: "subs-h" }, "Subscriptions"),
    table(["URL", "Events", "Models", "Scheme", "Status", "Created"], hooks.webhooks.map((w) => h("tr", {},
      h("td", { class: "mono" }, w.url), h("td", {}, w.events.join(", ")), h("td", {}, w.model_filter || "all"),
      h("td", {}, w.signature_scheme), h("td", {}, badge(w.status), w.disabled_reason ? h("div", { class: "muted" }, w.disabled_reason) : null),
      h("td", {}, w.created_by + ", " + when(w.created_ms)))), "No subscriptions.")));
  const select = h("select", { id: "delivery-status", onchange: (e) => { location.hash = "#/webhooks" + (e.target.value ? "?status=" + e.target.value : ""); } },
    ["", "pending", "sending", "succeeded", "dead"].map((s) => h("option", { value: s, selected: s === status }, s || "all")));
  const rows = deliveries.deliveries.map((d) => h("tr", { "data-delivery": d.id },
    h("td", {}, when(d.created_ms)), h("td", {}, d.event_type, d.model ? h("div", { class: "muted" }, d.model) : null),
    h("td", {}, badge(d.status)), h("td", { class: "num" }, d.attempts), h("td", {}, d.last_status_code || d.last_error || "-"),
    h("td", {}, d.origin), h("td", { class: "mono" }, d.webhook_id),
    h("td", {}, h("button", { onclick: async (e) => {
      e.target.disabled = true;
      try { const n = await api("/deliveries/" + encodeURIComponent(d.id) + "/redeliver", { method: "POST", body: {} });
        flash("Queued " + n.id + " (redelivery of " + d.id + ")", true); route(); }
      catch (err) { flash("Redeliver refused: " + err.message, false); e.target.disabled = false; }
    } }, "Redeliver"))));
  root.append(h("section", { class: "card", "aria-labelledby": "log-h" }, h("h3", { id: "log-h" }, "Delivery log"),
    h("label", { for: "delivery-status" }, "Status", select),
    table(["Queued", "Event", "Status", "Attempts", "Last answer", "Origin", "Webhook", ""], rows, "No deliveries.")));
}

// -- routing -------------------------------------------------------------------------------------

async function route() {
  const hash = location.hash || "#/queue";
  const [path] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = parts[0] || "queue";
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const root = newView();
  try {
    if (section === "version") await showVersion(root, parts[1], parts[2]);
    else if (section === "audit") await showAudit(root);
    else if (section === "webhooks") await showWebhooks(root);
    else await showQueue(root);
  } catch (err) {
    root.append(h("p", { role: "alert", class: "banner bad" }, "Could not load: " + err.message));
  }
  attach(root);
}

async function start() {
  try {
    session = await api("/whoami");
    document.getElementById("who").textContent = (session.authenticated ? "Signed in as " : "Acting as ") +
      session.user + (session.admin && session.authenticated ? " (admin)" : "") + (session.authenticated ? "" : " — no authentication");
  } catch (err) {
    document.getElementById("who").textContent = "Not signed in: " + err.message;
  }
  window.addEventListener("hashchange", () => { document.getElementById("flash").replaceChildren(); route(); });
  await route();
}

start();
