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

// One time format everywhere on the page: ISO 8601 UTC with Z, to the second.
function when(ms) {
  if (ms === null || ms === undefined) return "-";
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}
function whenIso(text) {
  return text ? String(text).slice(0, 19) + "Z" : "-";
}
function num(v) {
  if (v === null || v === undefined) return "-";
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? Number(v).toExponential(3) : Number(v).toFixed(4);
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
  // A refusal changes nothing: its reason is what the reader needs.
  const reason = entry.details && entry.details.reason;
  if (entry.action === "promotion.blocked" && reason) return reason;
  if (entry.action === "audit.drift_detected") return driftText((entry.details || {}).differences || []);
  const keys = new Set([...Object.keys(entry.before || {}), ...Object.keys(entry.after || {})]);
  const parts = [];
  for (const key of keys) {
    const fmt = (v) => (v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));
    parts.push(key + ": " + fmt((entry.before || {})[key]) + " → " + fmt((entry.after || {})[key]));
  }
  return parts.join("; ") || (reason ? String(reason) : "");
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

// -- the dossier: what a decision needs, first ------------------------------------------------

function part(title, id, p, body) {
  const card = h("section", { class: "card", "aria-labelledby": id, "data-part": id },
    h("h3", { id }, title, " ", p && p.status !== "present" ? badge(p.status) : null));
  if (p && p.status !== "present" && p.reason) card.append(h("p", { class: "empty" }, p.reason));
  if (body) card.append(body);
  return card;
}

function metricChart(row) {
  // Two bars on one scale: the candidate and the version under the alias.
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const width = 260, left = 86, rowH = 22;
  svg.setAttribute("viewBox", `0 0 ${width} ${rowH * 2 + 26}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${row.metric}: candidate ${num(row.value)}, current ${num(row.current_value)}`);
  const max = Math.max(1e-12, Math.abs(row.value || 0), Math.abs(row.current_value || 0));
  const text = (x, y, s, anchor, cls) => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", "11");
    if (anchor) t.setAttribute("text-anchor", anchor);
    if (cls) t.setAttribute("class", cls);
    t.textContent = s; svg.append(t);
  };
  text(0, 12, row.metric + (row.dataset_name ? " on " + row.dataset_name : "") + " (" + row.direction + " is better)");
  [["candidate", row.value, "bar " + (row.verdict === "worse" ? "worse" : "cand")], ["current", row.current_value, "bar overall"]]
    .forEach(([label, value, cls], i) => {
      const y = 20 + i * rowH;
      const w = value === null || value === undefined ? 0 : Math.max(1, ((width - left - 52) * Math.abs(value)) / max);
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", left); rect.setAttribute("y", y); rect.setAttribute("width", w);
      rect.setAttribute("height", rowH - 6); rect.setAttribute("class", cls);
      svg.append(rect);
      text(left - 6, y + 12, label, "end");
      text(left + w + 4, y + 12, num(value));
    });
  return h("div", { class: "chart metric-chart" }, svg);
}

function comparisonPart(c) {
  const title = "Against @" + (c.alias || "?") + (c.current_version ? " (version " + c.current_version + ")" : "");
  if (c.status !== "present") return part("Champion vs challenger", "compare-h", c);
  const rows = c.rows.map((r) => h("tr", { "data-metric": r.metric },
    h("td", {}, r.metric), h("td", {}, r.dataset_name || "-"), h("td", { class: "num" }, num(r.value)),
    h("td", { class: "num" }, num(r.current_value)),
    h("td", { class: "num" }, r.delta === null ? "-" : (r.delta > 0 ? "+" : "") + num(r.delta)),
    h("td", {}, r.direction + " is better"), h("td", {}, badge(r.verdict || "-"))));
  const worse = c.rows.filter((r) => r.verdict === "worse").length;
  return part("Champion vs challenger: " + title, "compare-h", c, h("div", {},
    h("p", { class: worse ? "warn" : "muted" }, worse ? worse + " of " + c.rows.length + " metrics are worse than the version under the alias." :
      "No metric is worse than the version under the alias."),
    table(["Metric", "Dataset", "Candidate", "Current", "Delta", "Direction", "Verdict"], rows),
    h("div", { class: "charts" }, c.rows.filter((r) => r.current_value !== null).map(metricChart))));
}

function lineagePart(d) {
  const run = d.lineage.run || {}, code = d.code, env = d.environment;
  const facts = h("dl", { class: "facts" });
  const fact = (k, v) => facts.append(h("dt", {}, k), h("dd", {}, v === null || v === undefined || v === "" ? h("span", { class: "empty" }, "missing") : v));
  fact("Run", run.run_id ? h("a", { href: UI + "#/experiments/" + run.experiment_id + "/runs/" + run.run_id }, run.run_name || run.run_id) : null);
  fact("Trained by", run.user); fact("Started", run.start_time ? whenIso(run.start_time) : null);
  fact("Parameters", Object.entries(run.params || {}).map(([k, v]) => k + "=" + v).join(", "));
  fact("Logged model", d.lineage.logged_model ? d.lineage.logged_model.model_id : d.lineage.logged_model_missing);
  fact("Code version", code.git_commit ? h("span", { class: "mono" }, code.git_commit) : code.reason);
  fact("Repository", code.git_repo_url); fact("Entry point", code.source_name);
  fact("Environment", env.status === "present" ? "Python " + (env.python_version || "?") + ", flavors " + Object.keys(env.flavors).join(", ") +
    ", " + env.requirements.length + " requirements (" + (env.unpinned.length ? env.unpinned.length + " unpinned" : "all pinned") + ")" : env.reason);
  fact("Requirements", env.requirements && env.requirements.length ? h("span", { class: "mono" }, env.requirements.join("  ")) : null);
  fact("Signature", d.signature.status === "present" ? (Array.isArray(d.signature.inputs) ? d.signature.inputs.length + " inputs" : "recorded") : d.signature.reason);
  fact("Input example", d.input_example.status === "present" ? d.input_example.path : d.input_example.reason);
  fact("Artifact digest", d.artifacts.digest ? h("span", { class: "mono" }, d.artifacts.digest) : d.artifacts.reason);
  fact("Artifact signature", d.artifact_signature.status === "present" ? d.artifact_signature.key_id : d.artifact_signature.reason);
  const datasets = d.datasets.items.map((x) => h("tr", {}, h("td", {}, x.name), h("td", {}, x.context || "-"),
    h("td", { class: "mono" }, x.digest), h("td", {}, x.source && x.source.uri ? x.source.uri : x.source_type || "-"),
    h("td", { class: "num" }, x.profile && x.profile.num_rows !== undefined ? x.profile.num_rows : "-")));
  return part("Lineage: run, data, code, environment", "lineage-h", d.lineage, h("div", {}, facts,
    h("h4", {}, "Datasets"), table(["Dataset", "Context", "Digest", "Source", "Rows"], datasets, d.datasets.reason || "No dataset inputs.")));
}

function cardPart(card) {
  const fields = Object.entries(card.fields).map(([k, f]) => h("tr", {}, h("th", { scope: "row" }, k.replace(/_/g, " ")),
    h("td", {}, f.value), h("td", { class: "muted" }, f.source)));
  const missing = card.missing_fields.map((k) => h("tr", { class: "absent" }, h("th", { scope: "row" }, k.replace(/_/g, " ")),
    h("td", { class: "empty" }, "missing"), h("td", { class: "muted" }, "tag model_card." + k + " or MODEL_CARD.md")));
  return part("Model card", "card-h", card, table(["Field", "Text", "From"], fields.concat(missing), "No model card."));
}

function statusPart(policy, requests, status) {
  // One row per protected target: a version can be approved for one alias and refused for another.
  const targets = (policy.requirements || []).filter((r) => r.action === "promote" && r.protected);
  const rows = targets.map((t) => {
    const r = requests.find((x) => x.target_kind === t.target_kind && x.target === t.target && x.status !== "cancelled");
    return h("tr", { "data-target": t.target }, h("td", {}, t.target_kind + " ", h("strong", {}, t.target)),
      h("td", {}, badge(r ? (r.status === "applied" ? "approved" : r.status) : "none")), h("td", { class: "num" }, r ? r.approvals_text : "-"),
      h("td", {}, r ? r.requester + ", " + when(r.created_at_ms) : h("span", { class: "muted" }, "no request")));
  });
  const body = h("div", {}, table(["Target", "Status", "Approvals", "Requested"], rows, "No rule protects this model: nothing to approve."));
  if (status && !status.error) body.append(h("p", { class: "muted" }, "Fairness: ", badge(status.fairness || "none"), " · rule ", status.rule || "-"));
  return h("section", { class: "card", "aria-labelledby": "status-h" }, h("h3", { id: "status-h" }, "Status per protected target"), body);
}

function rulePart(policy) {
  const rule = h("section", { class: "card", "aria-labelledby": "rule-h" }, h("h3", { id: "rule-h" }, "Policy rule"));
  if (!policy.rule) { rule.append(h("p", { class: "empty" }, "No rule matches this model: nothing is protected.")); return rule; }
  rule.append(h("p", {}, policy.rule_name, policy.reviewers.length ? " — reviewers: " + policy.reviewers.join(", ") : ""));
  // Targets with the same requirements share one list instead of repeating it.
  const groups = new Map();
  for (const req of policy.requirements.filter((r) => r.action === "promote" && r.protected)) {
    const key = JSON.stringify(req.requirements);
    if (!groups.has(key)) groups.set(key, { targets: [], items: req.requirements });
    groups.get(key).targets.push(req.target_kind + " " + req.target);
  }
  for (const g of groups.values()) {
    rule.append(h("p", {}, "Setting ", h("strong", {}, g.targets.join(", ")), " requires:"),
      h("ul", { class: "plain" }, g.items.map((x) => h("li", {}, x))));
  }
  return rule;
}

async function showVersion(root, model, version) {
  const alias = new URLSearchParams(location.hash.split("?")[1] || "").get("alias") || "";
  const form = h("form", { class: "inline", onsubmit: (e) => {
    e.preventDefault();
    location.hash = "#/version/" + encodeURIComponent(form.model.value) + "/" + encodeURIComponent(form.version.value) +
      (form.alias.value ? "?alias=" + encodeURIComponent(form.alias.value) : "");
  } },
    h("label", {}, "Registered model", h("input", { name: "model", required: true, value: model || "", size: 28 })),
    h("label", {}, "Version", h("input", { name: "version", required: true, value: version || "", size: 6 })),
    h("label", {}, "Compare with alias", h("input", { name: "alias", value: alias, size: 12, placeholder: "default" })),
    h("button", { class: "primary", type: "submit" }, "Show"));
  root.replaceChildren(h("h2", {}, model ? model + " version " + version : "Model version"), form);
  if (!model || !version) return;
  const reload = route;
  const q = query({ model, version });
  const [dossier, status, policy, requests, checks, audit] = await Promise.all([
    api("/dossier" + query({ model, version, alias })),
    api("/status" + q).catch((e) => ({ error: e.message })),
    api("/policy" + query({ model })),
    api("/approval-requests" + query({ model, version, limit: 50 })),
    api("/fairness-checks" + query({ model, version, latest: "true" })),
    api("/audit" + query({ model, version, limit: 200 })),
  ]);
  const drift = await api("/audit/drift" + query({ model })).catch(() => null);
  const histories = dossier.governance.alias_history || {};
  root.append(h("p", {}, stockVersionLink(model, version), " · ", h("a", { href: UI + "#/models/" + encodeURIComponent(model) }, "All versions in the MLflow UI"),
    " · ", h("a", { href: API + "/evidence" + q, download: "", title: "Signed zip an auditor checks offline with mlflow-registry-ext evidence verify" }, "Download the evidence bundle"),
    dossier.missing.length ? h("span", { class: "muted" }, " · not recorded: " + dossier.missing.join(", ")) : null));
  const history = h("section", { class: "card", "aria-labelledby": "history-h" }, h("h3", { id: "history-h" }, "Alias history"));
  for (const [name, items] of Object.entries(histories)) {
    history.append(h("p", {}, h("strong", {}, "@" + name)), table(["Since", "Version", "By", "Entry"],
      items.map((x) => h("tr", {}, h("td", {}, when(x.since_ms)), h("td", {}, x.version === null ? "(deleted)" : x.version),
        h("td", {}, x.actor), h("td", { class: "num" }, x.seq))), "Never set."));
  }
  if (!Object.keys(histories).length) history.append(h("p", { class: "empty" }, "No protected aliases."));
  root.append(
    driftNotice(drift, model) || "",
    comparisonPart(dossier.comparison),
    h("div", { class: "grid" }, statusPart(policy, requests.requests, status), rulePart(policy)),
    lineagePart(dossier),
    cardPart(dossier.model_card),
    fairnessCard(checks.checks),
    requestsCard(requests.requests, reload),
    history,
    h("section", { class: "card", "aria-labelledby": "trail-h" }, h("h3", { id: "trail-h" }, "Audit trail"),
      table(["#", "When", "Who", "Action", "Target", "Change"], auditRows(audit.entries), "No audit entries.")));
}

// What the latest reconcile found: changes made around the governed store (plain MLflow, SQL).
function driftValue(v) { return v === null || v === undefined ? "(none)" : String(v); }
function driftLine(d) {
  return d.model + (d.version ? " v" + d.version : "") + " " + d.kind + (d.key ? " " + d.key : "") +
    ": log " + driftValue(d.expected) + ", database " + driftValue(d.actual);
}
function driftText(differences) { return "changed around the governed store: " + differences.map(driftLine).join("; "); }
function driftNotice(drift, scope) {
  if (!drift || !drift.ran_ms) return null;
  if (!drift.differences.length) {
    return scope ? null : h("div", { class: "banner ok", role: "status" },
      "Registry matches the audit log (reconciled " + when(drift.ran_ms) + ").");
  }
  return h("div", { class: "banner bad drift", role: "alert" },
    (scope ? scope + " was changed around the governed store" : "Registry drift: " + drift.differences.length +
      " change(s) made around the governed store") + " (found " + when(drift.ran_ms) + "; the audit log does not describe them):",
    h("ul", {}, drift.differences.map((d) => h("li", {}, driftLine(d)))));
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
  const [verify, page, drift] = await Promise.all([
    api("/audit/verify", { method: "POST", body: {} }),
    api("/audit" + query(Object.assign({ limit: 500 }, filters))),
    api("/audit/drift").catch(() => null),
  ]);
  root.append(verify.ok
    ? h("div", { class: "banner ok", role: "status" }, "Hash chain intact: " + verify.checked + " entries verified.")
    : h("div", { class: "banner bad", role: "alert" }, "Hash chain BROKEN at entry " + verify.first_bad_seq + ": " + verify.reason));
  const notice = driftNotice(drift, null);
  if (notice) root.append(notice);
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
  const urls = Object.fromEntries(hooks.webhooks.map((w) => [w.id, w.url]));
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
    h("td", {}, d.origin), h("td", { class: "mono", title: d.webhook_id }, urls[d.webhook_id] || d.webhook_id),
    h("td", {}, h("button", { onclick: async (e) => {
      e.target.disabled = true;
      try { const n = await api("/deliveries/" + encodeURIComponent(d.id) + "/redeliver", { method: "POST", body: {} });
        flash("Queued " + n.id + " (redelivery of " + d.id + ")", true); route(); }
      catch (err) { flash("Redeliver refused: " + err.message, false); e.target.disabled = false; }
    } }, "Redeliver"))));
  root.append(h("section", { class: "card", "aria-labelledby": "log-h" }, h("h3", { id: "log-h" }, "Delivery log"),
    h("label", { for: "delivery-status" }, "Status", select),
    table(["Queued", "Event", "Status", "Attempts", "Last answer", "Origin", "Webhook URL", ""], rows, "No deliveries.")));
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
