// Reviewer console: the queue with due dates, a case's crops (watermarked canvases), decisions
// that need a reason. Adjudicators see their queue and decide with a note.
import { $, ApiError, Client, FLAGS, el, fmtTime, reasonText } from "/web/common.js";

const api = new Client("proctor.reviewer.token");
let role = null;
let openCase = null;
let schemaFields = null; // properties of the review request body, read from /openapi.json

const STATUS = { open: "待审查", assigned: "已分配", reviewed: "已审查", decided: "已裁决", pending: "待处理" };
const RECS = {
  uphold_match: "建议撤销：系本人人脸，原核验失败有误",
  confirm_mismatch: "建议维持：确认非本人",
  needs_human: "需人工判断：证据缺失、质量差或相互矛盾",
};

function errText(e) {
  return e instanceof ApiError ? `${e.message}（${e.code}）` : String(e);
}
function show(target, text, kind = "err") {
  target.replaceChildren(text ? el("div", { class: `msg ${kind}`, text }) : "");
}

// No saving or dragging of evidence: no <img>, no link, no context menu.
for (const ev of ["contextmenu", "dragstart", "copy"]) {
  document.addEventListener(ev, (e) => { if (e.target.closest?.(".protected")) e.preventDefault(); });
}

function loggedIn() {
  const c = api.claims;
  if (!c) return;
  role = c.role;
  $("#who").textContent = `${role === "adjudicator" ? "裁决员" : "审查员"} ${c.sub}`;
  $("#queue").classList.remove("hidden");
  $("#claim").classList.toggle("hidden", role !== "reviewer");
  loadQueue();
}

$("#use-token").addEventListener("click", () => {
  api.setToken($("#token").value);
  if (!api.claims) return show($("#login-msg"), "令牌格式不正确");
  show($("#login-msg"), "");
  loggedIn();
});
$("#dev-token").addEventListener("click", async () => {
  try {
    await api.devToken($("#dev-sub").value.trim(), $("#dev-role").value);
    $("#token").value = api.token;
    show($("#login-msg"), "");
    loggedIn();
  } catch (e) {
    show($("#login-msg"), errText(e));
  }
});

// ---- due dates: the server's (due_on, overdue) when the API gives them -------------------------
function todayShanghai() {
  return new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }); // YYYY-MM-DD
}
function dueCell(item) {
  const due = item.due_on || item.due_at || item.due_date;
  if (!due) return el("td", { class: "mute", title: "接口未提供办理期限", text: "—" });
  const overdue = item.overdue ?? String(due).slice(0, 10) < todayShanghai();
  const td = el("td", { "data-overdue": String(Boolean(overdue)) }, String(due).slice(0, 10) + " 24:00 ");
  if (overdue) td.append(el("span", { class: "tag overdue", text: "已超期" }));
  return td;
}

let queueSeq = 0; // only the newest queue request may render (older answers are stale)

async function loadQueue() {
  const seq = ++queueSeq;
  const tbody = $("#queue-table tbody");
  try {
    const rows = [];
    let label;
    if (role === "adjudicator") {
      const items = await api.call("GET", "/v1/adjudication/queue");
      label = `待裁决 ${items.length} 件`;
      for (const f of items) rows.push(row(f, "flag"));
    } else {
      const q = await api.call("GET", "/v1/review/queue");
      label = `未分配 ${q.unassigned} 件`;
      for (const f of q.flags) rows.push(row(f, "flag"));
      for (const m of q.manual_reviews) rows.push(row(m, "manual"));
    }
    if (seq !== queueSeq) return;
    $("#unassigned").textContent = label;
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7", class: "mute", text: "暂无案件" })));
    tbody.replaceChildren(...rows);
    tbody.dataset.loaded = String(seq);
  } catch (e) {
    if (seq === queueSeq) show($("#queue-msg"), errText(e));
  }
}

function row(item, type) {
  const id = type === "flag" ? item.flag_id : item.review_id;
  const overdue = Boolean(item.overdue);
  const kinds = { flag: "核验异常", fuxi: "复核申请", manual_id: "人工核验身份", appeal: "申诉" };
  const reasons = (item.reasons || []).map((r) => FLAGS[r] || reasonText(r)).join("、") || "—";
  const tr = el("tr", { "data-case": id, class: overdue ? "overdue" : "" },
    el("td", { text: id.slice(0, 12) }),
    el("td", { text: kinds[item.kind || type] || item.kind || type }),
    el("td", { text: reasons }),
    el("td", { text: fmtTime(item.raised_at || item.created_at || item.received_at) }),
    dueCell(item),
    el("td", { text: STATUS[item.status] || item.status }));
  const open = el("button", { text: "查看", onclick: () => (type === "flag" ? showCase(item) : showManual(item)) });
  tr.append(el("td", {}, open));
  return tr;
}

$("#claim").addEventListener("click", async () => {
  try {
    const r = await api.call("POST", "/v1/review/claim");
    show($("#queue-msg"), r.case_id ? `已领取案件 ${r.case_id}` : "没有待领取的案件", r.case_id ? "ok" : "err");
    await loadQueue();
  } catch (e) {
    show($("#queue-msg"), errText(e));
  }
});
$("#refresh").addEventListener("click", loadQueue);

// ---- a case --------------------------------------------------------------------------------
async function reviewFields() {
  if (schemaFields) return schemaFields;
  try {
    const doc = await (await fetch("/openapi.json")).json();
    schemaFields = Object.keys(doc.components?.schemas?.ReviewIn?.properties || {});
  } catch {
    schemaFields = [];
  }
  return schemaFields;
}

function fact(dl, k, v) {
  dl.append(el("dt", { text: k }), el("dd", {}, v));
}

async function showCase(item) {
  openCase = { type: "flag", id: item.flag_id, item };
  $("#case").classList.remove("hidden");
  $("#case").dataset.case = item.flag_id;
  $("#case-title").textContent = `案件 ${item.flag_id}`;
  const dl = $("#case-facts");
  dl.replaceChildren();
  $("#crops").replaceChildren();
  $("#recommendation").replaceChildren();
  $("#reason").value = "";
  $("#uphold").textContent = "维持（确认替学替考）";
  $("#dismiss").textContent = "撤销（本人，误判）";
  show($("#case-msg"), "");
  fact(dl, "会话", item.session_id);
  fact(dl, "标记原因", (item.reasons || []).map((r) => FLAGS[r] || reasonText(r)).join("、"));
  fact(dl, "提出时间", fmtTime(item.raised_at));
  if (role === "adjudicator") {
    fact(dl, "审查员", item.reviewer_id || "—");
    $("#reason-note").textContent = "裁决理由随裁决一并保存。";
    syncButtons();
    return;
  }
  try {
    const c = await api.call("GET", `/v1/review/cases/${item.flag_id}?purpose=review`);
    const details = evidenceDetails(c);
    for (const id of c.reference_ids) await drawCrop(item.flag_id, id, "登记照片", null);
    for (const id of c.evidence_ids) await drawCrop(item.flag_id, id, "核验抓拍", details[id]);
    for (const a of c.attempts || []) {
      const dist = a.distance != null ? `距离 ${Number(a.distance).toFixed(3)} / 阈值 ${Number(a.threshold).toFixed(3)}` : "无距离";
      const why = (a.reasons || []).map(reasonText).join("、") || "—";
      const row = el("span", { "data-attempt": String(a.attempt_no), "data-distance": String(a.distance ?? ""), "data-threshold": String(a.threshold ?? ""), text: `${why}；${dist}` });
      fact(dl, `第 ${a.attempt_no} 次核验`, row);
    }
    showReverify(c.review_case, item.flag_id);
    const fields = await reviewFields();
    const withReason = fields.find((f) => ["reason", "reasons", "note", "decision_reasons"].includes(f));
    $("#reason-note").textContent = withReason ? "理由随审查意见一并保存。" : "理由为必填。注意：当前接口的审查意见尚无理由字段，理由只显示在本页，不会上传保存。";
  } catch (e) {
    show($("#case-msg"), errText(e));
  }
  syncButtons();
}

/** Per-evidence distances and reasons: the newest re-verification report of the case. */
function evidenceDetails(c) {
  const out = {};
  for (const s of c.review_case?.report?.snapshots || []) {
    const d = Object.values(s.distances || {});
    out[s.evidence_id] = { distance: d.length ? Math.max(...d) : null, reasons: s.quality_reasons || [] };
  }
  return out;
}

const VERDICT = { match: "本人", mismatch: "非本人", uncertain: "不确定", unusable: "不可用" };
const REC_REASONS = {
  all_usable_snapshots_match: "全部可用抓拍均与登记照片一致",
  all_usable_snapshots_mismatch: "全部可用抓拍均与登记照片不一致",
  verdicts_disagree: "各抓拍结论不一致",
  replay_detected: "发现重复提交的同一画面（疑似翻拍/重放）",
  no_usable_snapshot: "没有可用的抓拍",
  no_usable_reference: "没有可用的登记照片",
  no_evidence_in_retention: "证据已过保存期限",
};

/** The review case's re-verification: recommendation, reasons, per-snapshot evidence. */
function showReverify(rc, sourceId) {
  const box = $("#recommendation");
  if (!rc) return box.replaceChildren();
  const rep = rc.report;
  const head = rep
    ? el("div", { class: rep.recommendation === "uphold_match" ? "msg ok" : "msg err", id: "reverify", "data-recommendation": rep.recommendation, text: "复查建议：" + (RECS[rep.recommendation] || rep.recommendation) })
    : el("div", { class: "msg", id: "reverify", "data-recommendation": "", text: "复查建议：尚无（未发起复查）" });
  const parts = [head];
  if (rep) {
    parts.push(el("div", { class: "mute", text: "依据：" + rep.reasons.map((r) => REC_REASONS[r] || r).join("、") }));
    const rows = rep.snapshots.map((s) => {
      const d = Object.entries(s.distances || {}).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join("，") || "—";
      const q = (s.quality_reasons || []).map(reasonText).join("、") || "合格";
      const rp = s.replay?.exact ? "与先前抓拍完全相同" : s.replay?.near ? "与先前抓拍高度相似" : "无";
      return el("tr", { "data-snapshot": s.evidence_id, "data-verdict": s.verdict },
        el("td", { text: s.evidence_id.slice(0, 8) }), el("td", { text: VERDICT[s.verdict] || s.verdict }),
        el("td", { text: d }), el("td", { text: q }), el("td", { text: rp }));
    });
    parts.push(el("table", { id: "reverify-table" },
      el("thead", {}, el("tr", {}, ...["抓拍", "复查结论", "距离（模型/运行时）", "质量", "重放检查"].map((t) => el("th", { text: t })))),
      el("tbody", {}, ...rows)));
  }
  const start = el("button", { id: "reverify-start", text: rep ? "重新复查" : "发起复查" });
  const progress = el("span", { class: "mute", id: "reverify-progress" });
  start.addEventListener("click", () => runReverify(sourceId, start, progress));
  parts.push(el("div", { class: "row" }, start, progress));
  box.replaceChildren(...parts);
}

async function runReverify(sourceId, button, progress) {
  button.disabled = true;
  try {
    let job = await api.call("POST", "/v1/review/jobs", { json: { case_ids: [sourceId] } });
    while (job.status !== "finished") {
      progress.textContent = `复查中 ${job.percent}%`;
      await new Promise((r) => setTimeout(r, 500));
      job = await api.call("GET", `/v1/review/jobs/${job.job_id}`);
    }
    progress.textContent = "复查完成 100%";
    progress.dataset.done = "true";
    const c = await api.call("GET", `/v1/review/cases/${sourceId}?purpose=review`);
    showReverify(c.review_case, sourceId);
    $("#reverify-progress").textContent = "复查完成 100%";
  } catch (e) {
    progress.textContent = errText(e);
    button.disabled = false;
  }
}

async function drawCrop(caseId, evidenceId, label, detail) {
  const r = await api.call("GET", `/v1/review/cases/${caseId}/evidence/${evidenceId}?purpose=review`, { raw: true });
  const bmp = await createImageBitmap(await r.blob());
  const scale = 180 / Math.max(bmp.width, bmp.height);
  const w = Math.round(bmp.width * scale), h = Math.round(bmp.height * scale);
  const canvas = el("canvas", { width: String(w), height: String(h), draggable: "false", "data-evidence": evidenceId, "data-watermarked": "true" });
  const g = canvas.getContext("2d");
  g.drawImage(bmp, 0, 0, w, h);
  bmp.close();
  watermark(g, w, h);
  const caption = el("div", {}, el("span", { class: label === "登记照片" ? "ref" : "", text: label }));
  if (detail) {
    if (detail.distance != null) caption.append(el("div", { "data-distance": String(detail.distance), text: `距离 ${Number(detail.distance).toFixed(3)}${detail.threshold != null ? ` / 阈值 ${Number(detail.threshold).toFixed(3)}` : ""}` }));
    if (detail.reasons?.length) caption.append(el("div", { text: detail.reasons.map(reasonText).join("、") }));
  }
  $("#crops").append(el("div", { class: "crop" }, canvas, caption));
}

function watermark(g, w, h) {
  const c = api.claims || {};
  const text = `${c.sub} ${new Date().toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" })}`;
  g.save();
  g.font = "bold 11px sans-serif";
  g.fillStyle = "rgba(255,255,255,0.55)";
  g.strokeStyle = "rgba(0,0,0,0.35)";
  g.translate(w / 2, h / 2);
  g.rotate(-Math.PI / 6);
  for (let y = -h; y < h; y += 34) {
    for (let x = -w; x < w; x += 150) {
      g.strokeText(text, x, y);
      g.fillText(text, x, y);
    }
  }
  g.restore();
}

// A reviewed session's state, as the reviewer reads it (ManualCaseOut.session_state).
const SESSION_STATE = {
  active: "进行中",
  identity_review: "等待人工核验身份",
  completed: "已完成",
  terminated_invalid: "已终止（无效）",
};

/** Registered photo beside the evidence: for an ID check, the ID-holding photo's face crop
 * and (after an uncertain entry check) the entry capture; for a 复核, the session's crops. */
async function drawManualCrops(reviewId) {
  const m = await api.call("GET", `/v1/review/manual/${reviewId}`);
  if (!openCase || openCase.id !== reviewId) return; // another case was opened meanwhile
  if (m.session_termination_reason === "identity_review_expired") {
    fact($("#case-facts"), "会话状态", "司机等待超过 24 小时，会话已关闭；决定仍会记录");
  } else if (m.session_state) {
    fact($("#case-facts"), "会话状态", SESSION_STATE[m.session_state] || m.session_state);
  }
  for (const id of m.reference_ids || []) await drawCrop(reviewId, id, "登记照片", null);
  for (const id of m.evidence_ids || []) await drawCrop(reviewId, id, m.kind === "fuxi" ? "核验抓拍" : "核验材料", null);
}

function showManual(m) {
  openCase = { type: "manual", id: m.review_id, item: m };
  $("#case").classList.remove("hidden");
  $("#case").dataset.case = m.review_id;
  $("#case-title").textContent = `人工审查 ${m.review_id}`;
  const dl = $("#case-facts");
  dl.replaceChildren();
  $("#crops").replaceChildren();
  $("#recommendation").replaceChildren();
  fact(dl, "类型", m.kind === "fuxi" ? "复核申请" : "人工核验身份");
  fact(dl, "核验对象", m.subject_id);
  fact(dl, "提交时间", fmtTime(m.created_at));
  drawManualCrops(m.review_id).catch((e) => show($("#case-msg"), errText(e)));
  $("#uphold").textContent = "不予通过";
  $("#dismiss").textContent = "通过";
  $("#reason-note").textContent = "理由为必填。";
  syncButtons();
}

function syncButtons() {
  const ok = $("#reason").value.trim().length >= 2 && openCase !== null;
  $("#uphold").disabled = !ok;
  $("#dismiss").disabled = !ok;
}
$("#reason").addEventListener("input", syncButtons);

async function decide(uphold) {
  const reason = $("#reason").value.trim();
  if (!reason) return show($("#case-msg"), "请先填写理由");
  const key = `${openCase.type}-${openCase.id}-${uphold ? "u" : "d"}`;
  try {
    let done;
    if (openCase.type === "manual") {
      await api.call("POST", `/v1/review/manual/${openCase.id}/decision`, { json: { approve: !uphold, reason }, headers: { "Idempotency-Key": key } });
      done = uphold ? "已不予通过" : "已通过";
    } else if (role === "adjudicator") {
      const r = await api.call("POST", `/v1/adjudication/flags/${openCase.id}/decision`, { json: { uphold, note: reason }, headers: { "Idempotency-Key": key } });
      done = r.upheld ? `已维持，限制记录 ${r.blacklist_id}` : "已撤销";
    } else {
      const body = { recommendation: uphold ? "uphold" : "dismiss" };
      const fields = await reviewFields();
      if (fields.includes("reason")) body.reason = reason;
      else if (fields.includes("reasons")) body.reasons = [reason];
      else if (fields.includes("note")) body.note = reason;
      const r = await api.call("POST", `/v1/review/cases/${openCase.id}/review`, { json: body, headers: { "Idempotency-Key": key } });
      done = `审查意见已提交（${uphold ? "建议维持" : "建议撤销"}），状态：${STATUS[r.status] || r.status}，待裁决员裁决`;
    }
    const msg = el("div", { class: "msg ok", id: "decided", text: `${done}。理由：${reason}` });
    $("#case-msg").replaceChildren(msg);
    $("#uphold").disabled = $("#dismiss").disabled = true;
    await loadQueue();
  } catch (e) {
    show($("#case-msg"), errText(e));
  }
}
$("#uphold").addEventListener("click", () => decide(true));
$("#dismiss").addEventListener("click", () => decide(false));

if (api.token) { $("#token").value = api.token; loggedIn(); }
