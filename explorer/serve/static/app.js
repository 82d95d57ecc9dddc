// explore serve: the page. Plain JavaScript, no build step, nothing fetched but this server's API.
// Every view comes from the server (GET /api/state or the answer to a POST); the page only draws it.
"use strict";

const $ = (sel) => document.querySelector(sel);
let view = null;          // the last view the server sent
let diagramKey = null;    // state id + cursor of the diagram on screen

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ---------------------------------------------------------------- talking to the server
class ApiFailure extends Error {}

async function api(method, path, body, raw = false) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = raw ? body : JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, opts);
  } catch (e) {
    showError("cannot reach the explore server (is it still running?): " + e.message);
    throw new ApiFailure(e.message);
  }
  let data;
  try { data = await resp.json(); } catch (e) { data = { error: `HTTP ${resp.status}: the answer is not JSON` }; }
  if (!resp.ok) {
    showError(data.error || `HTTP ${resp.status}`);
    if (data.stale) await refresh(false);
    throw new ApiFailure(data.error);
  }
  return data;
}

async function act(method, path, body, raw = false) {
  document.body.classList.add("busy");
  try {
    const data = await api(method, path, body, raw);
    hideError();
    render(data);
    return data;
  } catch (e) {
    if (!(e instanceof ApiFailure)) showError(String(e));
    return null;
  } finally {
    document.body.classList.remove("busy");
  }
}

async function refresh(clearError = true) {
  try {
    const data = await api("GET", "/api/state");
    if (clearError) hideError();
    render(data);
  } catch (e) { /* shown already */ }
}

function showError(text) { $("#error-text").textContent = text; $("#error").hidden = false; }
function hideError() { $("#error").hidden = true; }
function showNotice(text) { $("#notice-text").textContent = text; $("#notice").hidden = !text; }

// ---------------------------------------------------------------- drawing a view
function render(v) {
  view = v;
  const spec = v.spec;
  document.title = `${spec.title} · explore serve`;
  $("#spec-title").textContent = spec.title;
  $("#spec-meta").textContent = `faults: ${spec.faults}` + (spec.file ? `  ·  ${spec.file}` : "");
  const last = v.path.length - 1;
  $("#position").textContent = `step ${v.cursor} of ${last}`;
  $("#btn-start").disabled = $("#btn-back").disabled = v.cursor === 0;
  $("#btn-forward").disabled = $("#btn-end").disabled = v.cursor >= last;
  $("#state-fp").textContent = v.state_id;
  $("#diagram-title").textContent = spec.actor ? "Sequence diagram of the path so far" : "The path so far, state by state";
  renderInitSelect(v);
  renderSettings(v);
  renderState(v);
  renderInvariants(v);
  renderActions(v);
  renderPath(v);
  renderTools(v);
  loadDiagram(v);
}

function renderInitSelect(v) {
  const sel = $("#init-select");
  sel.hidden = v.spec.initial_states < 2;
  if (sel.hidden || sel.options.length === v.spec.initial_states) { sel.value = String(v.init); return; }
  sel.replaceChildren(...Array.from({ length: v.spec.initial_states }, (_, k) =>
    el("option", { value: String(k), text: `initial state ${k}` })));
  sel.value = String(v.init);
}

function renderSettings(v) {
  const spec = v.spec;
  const params = spec.param_defs.map((p) => `${p.name}=${p.text}`).join(", ");
  $("#settings-summary").textContent = `parameters: ${params || "none"}  ·  faults: ${spec.faults}  (change)`;
  const box = $("#settings-params");
  box.replaceChildren();
  for (const p of spec.param_defs) {
    const input = p.choices
      ? el("select", { "data-param": p.name }, ...p.choices.map((c) => el("option", { value: c, text: c })))
      : el("input", { "data-param": p.name, type: "text", size: "10", spellcheck: "false" });
    input.value = p.text;
    box.append(el("label", { title: p.help }, `${p.name} `, input));
  }
  $("#settings-faults-row").hidden = !spec.actor;
  $("#settings-faults").value = spec.faults === "none" ? "" : spec.faults;
}

function configure(faults) {
  const params = {};
  for (const input of document.querySelectorAll("#settings-params [data-param]")) params[input.dataset.param] = input.value;
  return act("POST", "/api/configure", { params, faults });
}

function renderState(v) {
  const heading = v.cursor === 0 ? "Initial state" : `State after step ${v.cursor}`;
  $("#state-heading").textContent = heading;
  $("#last-step").replaceChildren(v.last_step
    ? el("span", {}, "last step: ", el("b", { text: v.last_step.label }))
    : el("span", { text: v.path.length > 1 ? "the start of the path" : "pick an action on the right to take a step" }));
  const s = v.state;
  const nodes = $("#nodes"), plain = $("#plain-fields");
  nodes.replaceChildren(); plain.replaceChildren();
  $("#network-box").hidden = !spec_actor(v);
  if (spec_actor(v)) {
    for (const n of s.nodes) {
      const card = el("div", { class: "node" + (n.crashed ? " crashed" : "") + (n.changed ? " changed" : ""),
        "data-node": n.id, "data-crashed": String(n.crashed) },
        el("div", { class: "head" }, el("span", {}, el("b", { text: n.id }), n.crashed ? el("span", { class: "badge down", text: "crashed" }) : null),
          el("span", { class: "cls", text: n.cls })));
      for (const f of n.fields) card.append(fieldRow(f, n.id));
      nodes.append(card);
    }
    for (const f of s.globals) plain.append(fieldRow(f, null));
    const net = $("#network");
    net.replaceChildren();
    let total = 0;
    for (const m of s.network) {
      total += m.count;
      net.append(el("li", { class: m.new ? "new" : "", "data-src": m.src, "data-dst": m.dst },
        el("code", { text: `${m.src} → ${m.dst}  ${m.msg}` }),
        m.count > 1 ? el("span", { class: "badge", text: `×${m.count}` }) : null,
        m.new ? el("span", { class: "badge new", text: "new" }) : null,
        m.blocked ? el("span", { class: "badge blocked", text: "across the partition" }) : null,
        m.to_crashed ? el("span", { class: "badge blocked", text: `${m.dst} is down: delivery loses it` }) : null));
    }
    if (!s.network.length) net.append(el("li", { class: "empty", text: "no message in flight" }));
    $("#network-count").textContent = total ? `(${total})` : "";
    const fb = $("#faults-box");
    fb.replaceChildren();
    if (s.partition) fb.append(el("div", { class: "part", text: "partitioned: " + s.partition.map((b) => b.join(", ")).join("  |  ") }));
    if (s.crashed.length) fb.append(el("div", { text: "crashed: " + s.crashed.join(", ") }));
    if (s.faults_left) fb.append(el("div", { text: "fault budget left: " + Object.entries(s.faults_left).map(([k, n]) => `${k} ${n}`).join(", ") }));
  } else {
    for (const f of s.fields) plain.append(fieldRow(f, null));
  }
}

function spec_actor(v) { return v.spec.actor; }

function fieldRow(f, node) {
  return el("div", { class: "field" + (f.changed ? " changed" : ""), "data-field": node ? `${node}.${f.name}` : f.name },
    el("span", { class: "name" }, f.name, f.durable ? el("span", { class: "dur", title: "durable: survives a crash", text: "durable" }) : null),
    el("span", { class: "value", text: f.value, title: f.value }));
}

function renderInvariants(v) {
  const ul = $("#invariants");
  ul.replaceChildren();
  for (const inv of v.invariants) {
    const cls = inv.holds === true ? "ok" : inv.holds === false ? "bad" : "err";
    const mark = inv.holds === true ? "✓" : inv.holds === false ? "✗" : "!";
    const why = inv.holds === false ? (inv.reason || "does not hold") : inv.holds === null ? inv.reason : null;
    ul.append(el("li", { class: cls, "data-invariant": inv.name, "data-holds": String(inv.holds) },
      `${mark} ${inv.name}`, why ? el("span", { class: "why", text: why }) : null));
  }
  if (!v.invariants.length) ul.append(el("li", { class: "ok", text: "this spec declares no invariant" }));
  const other = $("#properties");
  other.replaceChildren();
  for (const p of v.properties) {
    const here = p.here === null ? "" : p.kind === "reachable"
      ? (p.here ? ": true here (a witness)" : ": not true here")
      : (p.here ? ": true here" : ": not true here (yet)");
    other.append(el("li", { "data-property": p.name, title: "not checked per state: explore checks it over whole runs" },
      `${p.name} (${p.kind})${here}`));
  }
}

function renderActions(v) {
  const box = $("#actions");
  box.replaceChildren();
  $("#enabled-count").textContent = `(${v.enabled})`;
  if (v.actions_error) box.append(el("div", { class: "banner error", text: "the spec raised while computing the enabled actions:\n" + v.actions_error }));
  for (const g of v.actions) {
    const title = g.group === "faults" ? "Faults (inject by hand)" : g.group === "node" ? `node ${g.title}` : g.title;
    const div = el("div", { class: "group g-" + g.group, "data-group": g.title }, el("h3", { text: title }));
    for (const a of g.actions) {
      const fault = g.group === "faults";
      div.append(el("button", {
        class: "act" + (fault ? " fault" : ""), type: "button", title: a.label,
        "data-action": a.action, "data-kind": a.kind, "data-node": a.node || "", "data-label": a.label,
        "data-decisions": JSON.stringify(a.decisions),
        onclick: () => act("POST", "/api/step", { state_id: v.state_id, action: a.action, decisions: a.decisions }),
      }, el("span", { text: a.text }), a.detail ? el("span", { class: "detail", text: a.detail }) : null));
    }
    if (!g.actions.length) div.append(el("div", { class: "none", text: "nothing enabled" }));
    box.append(div);
  }
  if (v.spec.actor && v.spec.faults === "none") {
    const off = el("div", { class: "group g-faults faults-off", "data-group": "faults-off" },
      el("h3", { text: "Faults are off" }),
      el("div", { text: "Enable a budget to inject faults by hand (this starts a new path):" }));
    for (const f of ["crash=1", "loss=1,dup=1", "partition=1", "all"]) {
      off.append(el("button", { type: "button", "data-faults": f, onclick: () => configure(f), text: `enable ${f}` }));
    }
    box.append(off);
  }
  if (!v.enabled && !v.actions_error) box.append(el("div", { class: "none", text: "No action is enabled: every run stops here (a deadlock, unless the protocol is done)." }));
}

function renderPath(v) {
  const ol = $("#path");
  ol.replaceChildren();
  for (const p of v.path) {
    const cls = p.index === v.cursor ? "current" : p.index > v.cursor ? "ahead" : "";
    ol.append(el("li", { class: cls, "data-index": String(p.index), title: "go to this state",
      onclick: () => act("POST", "/api/goto", { index: p.index }) },
      p.label, el("span", { class: "fp", text: p.fp })));
  }
  const cur = ol.querySelector("li.current");
  if (cur) cur.scrollIntoView({ block: "nearest" });
}

function renderTools(v) {
  const box = $("#tool-result");
  const lines = [];
  let cls = "";
  if (v.walk) { lines.push(`random walk (seed ${v.walk.seed}): ${v.walk.taken} steps; ${v.walk.outcome}`); }
  if (v.search) {
    const s = v.search;
    const stats = `${s.distinct_states.toLocaleString()} distinct states, ${s.transitions.toLocaleString()} transitions, depth ${s.depth}, ${s.elapsed_s} s`;
    if (s.found) {
      cls = "bad";
      lines.push(`search from step ${s.found.from_step}: ${s.found.property} (${s.found.kind}) is violated ${s.found.length} steps further; the trace is now the path.`);
      if (s.found.reason) lines.push(s.found.reason);
    } else if (s.complete) {
      cls = "good";
      lines.push("search: no violation is reachable from here" + (s.depth_bound_hit ? " within the depth bound" : "") + ".");
    } else {
      lines.push(`search: no violation found in the part explored (stopped: ${(s.stop_reason || "").replace("_", " ")}).`);
    }
    lines.push(stats);
    for (const n of s.notes || []) lines.push(n);
  }
  if (v.jump) { lines.push(`jumped to the state: ${v.jump.where}` + (v.jump.searched ? ` (searched ${v.jump.searched.toLocaleString()} states)` : "")); }
  if (v.loaded) showNotice(v.loaded.notes.join("\n"));
  if (v.configured) showNotice(`now exploring ${v.configured.to} (was ${v.configured.from}); a new path starts here`);
  if (lines.length) {
    box.className = "tool-result " + cls;
    box.textContent = lines.join("\n");
    box.hidden = false;
  }
}

async function loadDiagram(v) {
  const key = v.state_id + "@" + v.cursor + "#" + v.path.length;
  if (key === diagramKey) return;
  diagramKey = key;
  let d;
  try { d = await api("GET", "/api/diagram"); } catch (e) { return; }
  if (diagramKey !== key) return;  // a newer view is already on its way
  const box = $("#diagram");
  const dot = $("#diagram-dot");
  if (d.svg) {
    box.innerHTML = d.svg;  // drawn by Graphviz from labels escaped in explorer/trace/dot.py
    dot.hidden = true;
  } else {
    box.replaceChildren(el("div", { class: "none", text: d.note || "no drawing" }));
    dot.textContent = d.dot;
    dot.hidden = false;
  }
  box.setAttribute("data-steps", String(d.steps));
  $("#diagram-steps").textContent = `(${d.steps} step${d.steps === 1 ? "" : "s"})`;
}

// ---------------------------------------------------------------- controls
function go(index) { if (view && index >= 0 && index < view.path.length && index !== view.cursor) act("POST", "/api/goto", { index }); }

function wire() {
  $("#btn-start").onclick = () => go(0);
  $("#btn-back").onclick = () => view && go(view.cursor - 1);
  $("#btn-forward").onclick = () => view && go(view.cursor + 1);
  $("#btn-end").onclick = () => view && go(view.path.length - 1);
  $("#btn-reset").onclick = () => act("POST", "/api/reset", { init: view ? view.init : 0 });
  $("#init-select").onchange = (e) => act("POST", "/api/reset", { init: Number(e.target.value) });
  $("#error-close").onclick = hideError;
  $("#notice-close").onclick = () => showNotice("");
  $("#walk-form").onsubmit = (e) => {
    e.preventDefault();
    act("POST", "/api/random", { state_id: view.state_id, steps: Number($("#walk-steps").value) });
  };
  $("#search-form").onsubmit = (e) => {
    e.preventDefault();
    $("#tool-result").hidden = false;
    $("#tool-result").className = "tool-result";
    $("#tool-result").textContent = "searching…";
    act("POST", "/api/search", { state_id: view.state_id, max_states: Number($("#search-max").value) || null,
      time_limit: Number($("#search-time").value) || null, deadlock: $("#search-deadlock").checked });
  };
  $("#settings-form").onsubmit = (e) => {
    e.preventDefault();
    configure($("#settings-faults").value.trim() || "none");
  };
  $("#jump-form").onsubmit = (e) => {
    e.preventDefault();
    act("POST", "/api/jump", { fingerprint: $("#jump-fp").value });
  };
  $("#trace-file").onchange = (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => act("POST", "/api/trace", String(reader.result), true);
    reader.onerror = () => showError(`cannot read ${file.name}`);
    reader.readAsText(file);
    e.target.value = "";
  };
  document.addEventListener("keydown", (e) => {
    if (!view || e.target.closest("input, select, textarea")) return;
    if (e.key === "ArrowLeft") go(view.cursor - 1);
    else if (e.key === "ArrowRight") go(view.cursor + 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(view.path.length - 1);
  });
}

wire();
refresh();
