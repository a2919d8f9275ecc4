// The control page. No framework, no build step, no third-party script: the Content-Security-Policy
// allows only this file. It renders with textContent and createElement only, so
// nothing the API returns is ever parsed as HTML (no HTML-string assignment anywhere).
//
// Login (Cognito): the authorization code grant with PKCE as a public client. The code verifier and
// the state live in sessionStorage only between the redirect to the hosted UI and the return (they
// must survive that navigation, and die with the tab); the access token lives in memory only, so it
// never touches storage another script or a later visitor of this browser could read, and a reload
// asks the hosted UI again (which remembers the session, so that is one redirect, not a password).
// The token goes only into the Authorization header of our own API calls: never into a URL.
"use strict";

const REFRESH_MS = 3000;
let config = null;
let accessToken = null;
let timer = null;
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

function badge(status) {
  return el("span", { class: "badge s-" + String(status || "").replace(/[^a-z_]/g, "") }, status || "–");
}

function when(t) {
  if (!t) return "–";
  const d = new Date(t);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function setStatus(msg, isError) {
  const s = $("status");
  s.textContent = msg || "";
  s.className = isError ? "error" : "";
}

// ---- PKCE (RFC 7636) ----
function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function randomString() {
  const a = new Uint8Array(32);
  crypto.getRandomValues(a);
  return b64url(a); // 43 characters of [A-Za-z0-9-_], within the verifier's 43..128
}
async function challenge(verifier) {
  return b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

async function startCognitoLogin() {
  const verifier = randomString();
  const state = randomString();
  sessionStorage.setItem("pkce_verifier", verifier);
  sessionStorage.setItem("pkce_state", state);
  const q = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    scope: config.scope,
    state: state,
    code_challenge_method: "S256",
    code_challenge: await challenge(verifier),
  });
  location.assign(config.authorize_endpoint + "?" + q.toString());
}

// finishCognitoLogin exchanges the code in the callback's query for tokens, then removes the code and
// state from the address bar and from history.
async function finishCognitoLogin(params) {
  const state = sessionStorage.getItem("pkce_state");
  const verifier = sessionStorage.getItem("pkce_verifier");
  sessionStorage.removeItem("pkce_state");
  sessionStorage.removeItem("pkce_verifier");
  history.replaceState(null, "", location.pathname);
  if (params.get("error")) throw new Error("login refused: " + params.get("error"));
  if (!state || params.get("state") !== state || !verifier) throw new Error("login answer does not match this tab's login; log in again");
  const resp = await fetch(config.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.client_id,
      code: params.get("code"),
      redirect_uri: config.redirect_uri,
      code_verifier: verifier,
    }).toString(),
  });
  if (!resp.ok) throw new Error("the token endpoint refused the code (" + resp.status + "); log in again");
  const tok = await resp.json();
  if (!tok.access_token) throw new Error("the token endpoint sent no access token");
  accessToken = tok.access_token;
}

async function demoLogin(user) {
  const resp = await fetch("demo/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: user }),
  });
  if (!resp.ok) throw new Error("demo login failed (" + resp.status + ")");
  accessToken = (await resp.json()).access_token;
}

function logout() {
  accessToken = null;
  if (timer) clearInterval(timer);
  if (config.demo) {
    location.reload();
    return;
  }
  const q = new URLSearchParams({ client_id: config.client_id, logout_uri: config.redirect_uri });
  location.assign(config.logout_endpoint + "?" + q.toString());
}

// ---- API ----
async function api(method, path, body) {
  const opts = { method: method, headers: { Authorization: "Bearer " + accessToken } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch("api/" + path, opts);
  const data = await resp.json().catch(() => ({}));
  if (resp.status === 401) {
    accessToken = null;
    showLogin();
  }
  if (!resp.ok) {
    const err = new Error(data.error || "HTTP " + resp.status);
    err.status = resp.status;
    throw err;
  }
  return data;
}

// ---- rendering ----
function progressFor(run, stageName) {
  if (!run) return null;
  return (run.stages || []).find((s) => s.name === stageName) || null;
}

function renderEnv(env, runs) {
  const current = env.running || runs[0] || null;
  const section = el("section", { class: "env", id: "env-" + env.name, "data-env": env.name });
  const head = el("div", { class: "env-head" }, el("h2", {}, env.name));
  if (env.can_control) {
    const busy = !!env.running;
    const start = el("button", { type: "button", class: "primary start", disabled: busy, textContent: "Start" });
    const stop = el("button", { type: "button", class: "stop", disabled: busy, textContent: "Stop" });
    start.addEventListener("click", () => confirmRun(env.name, "start"));
    stop.addEventListener("click", () => confirmRun(env.name, "stop"));
    head.append(start, stop);
  } else {
    head.append(el("span", { class: "meta watch-only" }, "watching only"));
  }
  section.append(head);

  if (current) {
    const line = el("p", { class: "meta run-line" },
      (env.running ? "Running: " : "Last run: ") + current.action + " by " + current.started_by + ", " + when(current.started_at) + " ",
      badge(current.status));
    if (current.error) line.append(" ", el("span", { class: "error" }, current.error));
    section.append(line);
  }
  const sched = env.schedule;
  if (sched) {
    section.append(el("p", { class: "meta schedule" },
      "Schedule (" + sched.timezone + ", " + (sched.days || []).join(" ") + "): next start " + when(sched.next_start) +
      ", next stop " + when(sched.next_stop)));
  }
  if (env.hold) {
    section.append(el("p", { class: "meta hold" }, "Schedule on hold until " + when(env.hold.until) + " by " + env.hold.by +
      (env.hold.reason ? " (" + env.hold.reason + ")" : "")));
  }

  for (const st of env.stages || []) {
    const p = progressFor(current, st.name);
    const stage = el("div", { class: "stage", "data-stage": st.name });
    const right = el("span", { class: "stage-progress" });
    if (p) {
      right.append(el("span", { class: "stage-status badge s-" + p.status }, p.status), " " + p.ready + "/" + p.total);
    }
    stage.append(el("div", { class: "stage-head" }, el("span", {}, st.name + " ", el("span", { class: "meta" }, "wait: " + st.wait)), right));
    if (p && p.message) stage.append(el("p", { class: "meta" }, p.message));
    const table = el("table", {}, el("tr", {},
      el("th", {}, "target"), el("th", {}, "state"), el("th", {}, "checks"), el("th", { class: "hide-narrow" }, "last action")));
    for (const t of st.targets || []) {
      table.append(el("tr", { class: "target", "data-target": t.id },
        el("td", {}, t.name ? t.name + " " : "", el("span", { class: "meta hide-narrow" }, t.id)),
        el("td", {}, badge(t.state)),
        el("td", {}, t.checks || ""),
        el("td", { class: "hide-narrow" }, t.last_action ? t.last_action + " " + when(t.last_action_at) + (t.last_action_by ? " by " + t.last_action_by : "") : "")));
    }
    stage.append(table);
    section.append(stage);
  }

  if (runs.length) {
    const list = el("table", { class: "runs" }, el("tr", {}, el("th", {}, "run"), el("th", {}, "by"), el("th", {}, "when"), el("th", {}, "status")));
    for (const r of runs) {
      list.append(el("tr", { class: "run" }, el("td", {}, r.action), el("td", {}, r.started_by), el("td", {}, when(r.started_at)), el("td", {}, badge(r.status))));
    }
    section.append(el("details", {}, el("summary", {}, "Latest runs"), list));
  }
  return section;
}

async function refresh() {
  try {
    const list = await api("GET", "environments");
    $("who").textContent = list.user;
    $("logout").hidden = false;
    const box = $("environments");
    const sections = [];
    for (const e of list.environments) {
      const name = encodeURIComponent(e.name);
      const [env, runs] = await Promise.all([api("GET", "environments/" + name), api("GET", "environments/" + name + "/runs")]);
      sections.push(renderEnv(env, runs));
    }
    if (!sections.length) sections.push(el("p", { id: "none" }, "You may not see any environment yet: ask an administrator to add you to the group control-<environment>."));
    box.replaceChildren(...sections);
    box.hidden = false;
    if ($("status").className !== "error") setStatus("");
  } catch (e) {
    if (e.status !== 401) setStatus(e.message, true);
  }
}

let pending = null;
function confirmRun(env, action) {
  pending = { env: env, action: action };
  $("confirm-text").textContent = (action === "start" ? "Start" : "Stop") + " environment " + env + "?";
  $("confirm-ok").textContent = action === "start" ? "Start " + env : "Stop " + env;
  $("confirm").showModal();
}

async function onConfirmClose() {
  if ($("confirm").returnValue !== "ok" || !pending) return;
  const p = pending;
  pending = null;
  try {
    setStatus((p.action === "start" ? "Starting " : "Stopping ") + p.env + "…");
    await api("POST", "environments/" + encodeURIComponent(p.env) + "/runs", { action: p.action });
    setStatus("");
  } catch (e) {
    setStatus(e.message, true);
  }
  refresh();
}

function showLogin() {
  if (timer) clearInterval(timer);
  timer = null;
  $("environments").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login").hidden = false;
  $("login-demo").hidden = !config.demo;
  $("login-cognito").hidden = config.demo;
}

function loggedIn() {
  $("login").hidden = true;
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

async function main() {
  $("logout").addEventListener("click", logout);
  $("confirm").addEventListener("close", onConfirmClose);
  try {
    config = await (await fetch("config.json")).json();
  } catch (e) {
    setStatus("cannot load the page's configuration", true);
    return;
  }
  if (config.demo) {
    const sel = $("demo-user");
    for (const u of config.demo_users || []) sel.append(el("option", { value: u.name }, u.name + " (" + u.description + ")"));
    $("login-demo").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await demoLogin(sel.value);
        loggedIn();
      } catch (e) {
        setStatus(e.message, true);
      }
    });
    showLogin();
    return;
  }
  $("login-button").addEventListener("click", () => startCognitoLogin().catch((e) => setStatus(e.message, true)));
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    try {
      await finishCognitoLogin(params);
      loggedIn();
      return;
    } catch (e) {
      setStatus(e.message, true);
    }
  }
  showLogin();
}

main();
