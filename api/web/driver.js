// Driver page: consent, enrolment, study with capture challenges, exam with the paused clock.
// Flow and rules are the server's; this page only follows what the API answers.
import { $, ApiError, Client, FLAGS, STATES, el, fmtTime, reasonAdvice, reasonText, sleep } from "/web/common.js";

const params = new URLSearchParams(location.search);
const COUNTDOWN_S = Number(params.get("countdown") ?? 3); // seconds before each capture
const POLL_MS = Number(params.get("poll") ?? 3000); // heartbeat interval during study
const HOLD_MS = Number(params.get("hold") ?? 2500); // how long a verdict shows before a retry
const MAX_FAILS = 3;
// Liveness bursts (issue 10): 2 s at 15 fps (30 frames), evenly spaced. The server spaces a
// list of frames evenly over 2 s, so the page keeps to that schedule.
const BURST_FRAMES = Number(params.get("burst_frames") ?? 30);
const BURST_MS = 2000;
const BURST_JPEG_QUALITY = 0.85; // 30 frames of 640×480 stay well under the request cap
// Screen-light code (issue 20): the server's colours are shown full-screen from the
// recording's start; each frame's time from that start goes up as frame_times_ms.
// code_sync=camera (tests with a fake camera file): reopen the camera and start the code
// with its first frame, so that a prepared clip's frame 0 is the code's start.
const CODE_SYNC = params.get("code_sync") || "";
const CAMERA_REOPEN_MS = 400; // code_sync=camera only: let the device close before reopening

const api = new Client("proctor.driver.token");
const ui = {
  state: $("#session-state"), remaining: $("#remaining"), passed: $("#passed-count"),
  verdict: $("#verdict"), msg: $("#session-msg"), log: $("#log"), ended: $("#ended"),
  overlay: $("#overlay"), prompt: $("#prompt"), count: $("#count"), guidance: $("#guidance"),
  timer: $("#timer"), timerLabel: $("#timer-label"),
};

let stream = null;
let session = null; // the last SessionOut
let capturing = false;
let pollTimer = null;
let passedCount = 0;

const ERRORS = {
  consent_required: "请先完成①知情同意。",
  not_enrolled: "请先完成②人脸登记。",
  blacklisted: "您当前处于限制期内，不能开始学习或考试。",
  enrollment_rejected: "登记照片不合格，请换一张清晰的正面照片。",
  unauthenticated: "令牌无效或已过期，请重新登录。",
  forbidden: "该令牌不是驾驶人令牌。",
  rate_limited: "请求过于频繁，请稍后再试。",
  overloaded: "系统繁忙，请稍后重试。",
  challenge_expired: "本次拍摄已超时。",
  burst_required: "本次核验需要按提示完成动作（连拍），请重试。",
  burst_too_large: "连拍数据过大，请重试。",
  empty_burst: "未收到连拍画面，请检查摄像头。",
  capture_pending: "正在进行人脸核验，请稍候。",
  session_closed: "本次会话已结束。",
  identity_not_verified: "身份核验尚未通过。",
  application_required: "请先在⓪提交学法减分申请，审核通过后次日起可学习。",
  study_not_allowed: "当前不在学习时间段内（审核通过次日起三日内），或学习已完成。",
  exam_not_allowed: "需先完成30分钟学习，并在考试期限内参加考试。",
  session_already_open: "已有一个学习或考试会话未结束，请先完成该会话。",
  driver_record_missing: "暂无您的交通管理记录，请稍后再试。",
};

// Application states as the driver reads them (issue 18).
const APP_STATES = {
  pending_approval: "审核中", rejected: "审核未通过", study_open: "可以学习",
  study_complete: "学习完成，可以考试", exam_in_progress: "考试中", exam_failed: "考试未通过，可补考",
  failed_final: "考试未通过（次数用完）", result_invalid_auth: "成绩无效（人脸核验未通过），可申请复核",
  under_review: "复核中", invalid_final: "成绩无效", passed_pending_apply: "考试通过，减分办理中",
  reduced: "已减分", void_study_expired: "学习超期，申请作废", void_exam_expired: "考试超期，申请作废",
  void_not_applicable: "不符合减分条件，申请作废", void_cycle_ended: "记分周期结束，申请作废",
  aborted_ineligible: "不再符合条件，申请终止", revoked: "减分已撤销", restored: "减分已恢复",
};
const day = (d) => (d ? `${d.last_day}${d.pending_calendar ? "（待节假日安排公布后确定）" : ""}` : "—");

let applicationId = null;
async function loadRecord() {
  const msg = $("#record-msg");
  try {
    const r = await api.call("GET", "/v1/me/record");
    $("#r-points").textContent = `${r.accumulated_points} 分`;
    $("#r-reduced").textContent = `${r.reduced_this_cycle} 分（每周期最多 ${r.cycle_cap_points} 分）`;
    $("#r-clearing").textContent = r.clearing_date;
    applicationId = r.open_application_id || applicationId;
    if (applicationId) {
      const a = await api.call("GET", `/v1/me/applications/${applicationId}`);
      $("#a-state").textContent = APP_STATES[a.state] || a.state;
      $("#a-state").dataset.state = a.state;
      const w = a.study_window;
      $("#a-window").textContent = w ? `${w.opens_at.slice(0, 10)} 至 ${day(w)}` : "—";
      $("#a-minutes").textContent = `${a.study_minutes_counted} / ${a.study_minutes_required} 分钟`;
      $("#a-exam").textContent = day(a.exam_deadline);
      $("#a-exams-left").textContent = String(a.exams_left);
      $("#a-review").textContent = day(a.review_due);
    }
    show(msg, "");
  } catch (e) {
    show(msg, errText(e));
  }
}
$("#apply").addEventListener("click", async () => {
  try {
    const a = await api.call("POST", "/v1/me/applications");
    applicationId = a.application_id;
    const why = a.reasons.length ? `：${a.reasons.map(reasonText).join("、")}` : "";
    show($("#record-msg"), `申请已提交，${APP_STATES[a.state] || a.state}${why}`, a.reasons.length ? "err" : "ok");
    await loadRecord();
  } catch (e) {
    show($("#record-msg"), errText(e));
  }
});
$("#record-refresh").addEventListener("click", loadRecord);

function errText(e) {
  if (e instanceof ApiError) return `${ERRORS[e.code] || e.message}（${e.code}）`;
  return String(e);
}

function show(target, text, kind = "err") {
  target.replaceChildren(text ? el("div", { class: `msg ${kind}`, text }) : "");
}

// ---- login and steps ------------------------------------------------------------------------
function loggedIn() {
  const c = api.claims;
  $("#who").textContent = c ? `驾驶人 ${c.sub}（${c.role}）` : "未登录";
  $("#steps").classList.toggle("hidden", !c);
  if (c) step("consent");
}

function step(name) {
  for (const id of ["record", "consent", "enroll", "session"]) $("#" + id).classList.add("hidden");
  document.querySelectorAll("nav.steps button").forEach((b) => b.classList.toggle("on", b.dataset.step === name));
  if (name === "record") { $("#record").classList.remove("hidden"); loadRecord(); }
  if (name === "consent") { $("#consent").classList.remove("hidden"); loadConsent(); }
  if (name === "enroll") { $("#enroll").classList.remove("hidden"); loadVerification(); }
  if (name === "study" || name === "exam") openSessionView(name);
}

function markDone(name) {
  document.querySelector(`nav.steps button[data-step=${name}]`).classList.add("done");
}

$("#use-token").addEventListener("click", () => {
  api.setToken($("#token").value);
  if (!api.claims) return show($("#login-msg"), "令牌格式不正确");
  show($("#login-msg"), "");
  loggedIn();
});
$("#dev-token").addEventListener("click", async () => {
  try {
    await api.devToken($("#dev-sub").value.trim(), "driver");
    $("#token").value = api.token;
    show($("#login-msg"), "");
    loggedIn();
  } catch (e) {
    show($("#login-msg"), errText(e));
  }
});
document.querySelectorAll("nav.steps button").forEach((b) => b.addEventListener("click", () => step(b.dataset.step)));

// ---- consent and enrolment ------------------------------------------------------------------
let consentSha = null;
async function loadConsent() {
  try {
    const t = await api.call("GET", "/v1/consent/text");
    consentSha = t.text_sha256;
    $("#consent-text").textContent = t.text;
    $("#consent-version").textContent = `版本 ${t.text_version}`;
  } catch (e) {
    show($("#consent-msg"), errText(e));
  }
}
$("#consent-check").addEventListener("change", (e) => ($("#consent-give").disabled = !e.target.checked));
$("#consent-give").addEventListener("click", async () => {
  try {
    const r = await api.call("POST", "/v1/me/consent", { json: { text_sha256: consentSha, channel: "web" } });
    show($("#consent-msg"), `已同意（${fmtTime(r.given_at)}）`, "ok");
    markDone("consent");
    step("enroll");
  } catch (e) {
    show($("#consent-msg"), errText(e));
  }
});
// ---- 实人认证: the reference is the authority's photo; a live blink is matched against it ----
const KINDS = { live_verified: "实人认证", id_photo_approved: "手持证件照人工审核" };
async function loadVerification() {
  const box = $("#verify-status");
  try {
    const v = await api.call("GET", "/v1/me/verification");
    box.dataset.authority = String(v.authority_reference);
    box.dataset.verified = String(v.verified);
    if (!v.authority_reference) box.textContent = "交管部门尚未同步您的实名照片，暂不能认证。";
    else if (v.verified) {
      box.textContent = `已通过${KINDS[v.kind] || v.kind}，有效期至 ${fmtTime(v.valid_until)}。`;
      markDone("enroll");
    } else box.textContent = "已有实名照片，尚未完成实人认证。";
    $("#verify-go").disabled = !v.authority_reference;
  } catch (e) {
    box.textContent = errText(e);
  }
}
$("#verify-go").addEventListener("click", async () => {
  const msg = $("#enroll-msg");
  try {
    openSessionView("verify");
    await startCamera();
    show(msg, "请正对摄像头，现在眨眼一次…", "ok");
    const { blobs } = await recordBurst(BURST_FRAMES);
    show(msg, "正在比对…", "ok");
    const form = new FormData();
    blobs.forEach((b, i) => form.append("frames", b, `frame-${String(i).padStart(2, "0")}.jpg`));
    // one key per recorded burst: a retried upload is answered once (Idempotency-Key)
    const key = `verify-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const r = await api.call("POST", "/v1/me/verification/bursts", { body: form, headers: { "Idempotency-Key": key } });
    msg.dataset.passed = String(r.passed);
    if (r.passed) {
      show(msg, "实人认证通过。", "ok");
      $("#id-photo-row").classList.add("hidden");
    } else {
      show(msg, "实人认证未通过：" + r.reasons.map(reasonText).join("、") + "。可上传手持身份证件照申请人工审核。");
      $("#id-photo-row").classList.remove("hidden");
    }
    await loadVerification();
  } catch (e) {
    show(msg, errText(e));
  }
});
$("#id-photo-file").addEventListener("change", (e) => ($("#id-photo-go").disabled = !e.target.files.length));
$("#id-photo-go").addEventListener("click", async () => {
  const f = $("#id-photo-file").files[0];
  try {
    const m = await api.call("POST", "/v1/me/identity-review", { body: f, contentType: f.type || "image/jpeg" });
    show($("#enroll-msg"), `已提交人工审核（编号 ${m.review_id}），审核通过后即完成认证。`, "ok");
  } catch (e) {
    show($("#enroll-msg"), errText(e));
  }
});
$("#enroll-skip").addEventListener("click", () => step("study"));

// ---- camera ---------------------------------------------------------------------------------
async function startCamera() {
  if (stream) return;
  stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  const v = $("#video");
  v.srcObject = stream;
  await v.play();
  while (v.videoWidth === 0) await sleep(50);
}

async function grabJpeg() {
  await startCamera(); // open already, except before code_sync=camera's first burst
  const v = $("#video");
  const c = $("#grab");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0); // unmirrored: the server sees the real frame
  return new Promise((res) => c.toBlob(res, "image/jpeg", 0.92));
}

/** Reopen the camera and resolve when its first frame is on the video element. */
async function restartCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  $("#video").srcObject = null;
  // Chromium closes the (fake) capture device after its last track stops, not at once: a
  // getUserMedia in that gap joins the closing device, which goes on playing the file it
  // had open instead of reopening it from frame 0 (seen: the code-synced clip missed 2 of 5).
  await sleep(CAMERA_REOPEN_MS);
  await startCamera();
  const v = $("#video");
  if (v.requestVideoFrameCallback) await new Promise((res) => v.requestVideoFrameCallback(() => res()));
}

/** Show the light code full-screen from t0 (performance.now() ms); returns a stop function. */
function showLightCode(code, t0, text) {
  const layer = el("div", { id: "light-code", style: "position:fixed;inset:0;z-index:1000;display:flex;align-items:center;justify-content:center;font-size:26px;font-weight:700;color:#111;text-align:center;padding:20px" });
  layer.textContent = text;
  document.body.append(layer);
  const timers = [];
  let at = 0;
  const paint = (i) => {
    layer.style.background = code[i].rgb;
    layer.dataset.segment = String(i);
  };
  paint(0);
  code.forEach((seg, i) => {
    if (i > 0) timers.push(setTimeout(() => paint(i), Math.max(0, t0 + at - performance.now())));
    at += seg.ms;
  });
  return () => {
    timers.forEach(clearTimeout);
    layer.remove();
  };
}

/** ~2 s of camera frames as JPEG blobs, one every BURST_MS/(n-1) ms, unmirrored, and each
 * frame's time (ms) from the start, which is also the light code's start. */
async function recordBurst(n = BURST_FRAMES, onFrame = () => {}, code = [], text = "") {
  if (code.length && CODE_SYNC === "camera") await restartCamera();
  const v = $("#video");
  const c = $("#grab");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  const ctx = c.getContext("2d");
  const pending = [];
  const times = [];
  const t0 = performance.now();
  const stop = code.length ? showLightCode(code, t0, text) : () => {};
  try {
    for (let k = 0; k < n; k++) {
      const due = t0 + (BURST_MS * k) / Math.max(1, n - 1);
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      ctx.drawImage(v, 0, 0);
      times.push(Math.round(performance.now() - t0));
      // Encoding runs off the schedule: the canvas is copied into the blob at call time.
      pending.push(new Promise((res) => c.toBlob(res, "image/jpeg", BURST_JPEG_QUALITY)));
      onFrame(k + 1, n);
    }
  } finally {
    stop();
  }
  return { blobs: await Promise.all(pending), times };
}

// ---- session view ---------------------------------------------------------------------------
function openSessionView(kind) {
  $("#session").classList.remove("hidden");
  $("#session-title").textContent = { study: "在线学习", exam: "在线考试" }[kind] || "实人认证";
  $("#study-start").classList.toggle("hidden", kind !== "study");
  $("#study-complete").classList.toggle("hidden", kind !== "study");
  $("#exam-start").classList.toggle("hidden", kind !== "exam");
  // code_sync=camera (tests): the camera first opens when the first burst starts, after
  // the test has written the clip for that challenge's code (no reopen to race, below).
  if (CODE_SYNC !== "camera") startCamera().catch((e) => show(ui.msg, "无法打开摄像头：" + e.message));
}

function render(s) {
  session = s;
  ui.state.textContent = STATES[s.state] || s.state;
  ui.state.dataset.state = s.state;
  const left = Math.max(0, MAX_FAILS - s.consecutive_failures);
  ui.remaining.textContent = `${left} / ${MAX_FAILS}`;
  ui.remaining.dataset.remaining = String(left);
  ui.remaining.classList.toggle("low", left <= 1);
  syncClock(s);
}

function logLine(r, ch) {
  const reasons = r.reasons.map(reasonText).join("、");
  const cls = r.passed ? "pass" : "fail";
  const kinds = { entry: "进入核验", random: "随机抽查", exam_start: "考前核验", exam_end: "交卷核验", retry: "重拍" };
  ui.log.prepend(el("div", { class: cls, text: `${new Date().toLocaleTimeString("zh-CN", { hour12: false })} 第${r.attempt_no}次 ${kinds[ch.kind] || ch.kind}：${r.passed ? "通过" : r.session.state === "identity_review" ? "待人工核验（不计失败）" : "未通过"} ${reasons}` }));
}

function showVerdict(r, burst = false) {
  const box = el("div", { class: `verdict ${r.passed ? "pass" : "fail"}`, id: "verdict-box", "data-passed": String(r.passed), "data-burst": String(burst) });
  box.append(el("div", { class: "title", text: r.passed ? "✓ 核验通过" : "✗ 核验未通过" }));
  if (r.passed && burst) box.append(el("div", { "data-reason": "liveness_passed", text: "动作核验通过，人脸与登记照片一致。" }));
  if (!r.passed) {
    const ul = el("ul");
    for (const code of r.reasons) {
      ul.append(el("li", { "data-reason": code }, el("b", { text: reasonText(code) }), "：", reasonAdvice(code)));
    }
    for (const f of r.flags || []) ul.append(el("li", { "data-flag": f, text: "已记录：" + (FLAGS[f] || f) }));
    box.append(ul);
    const left = Math.max(0, MAX_FAILS - r.session.consecutive_failures);
    if (r.session.state === "active") box.append(el("div", { text: `还剩 ${left} 次机会，即将重新拍摄。` }));
  }
  ui.verdict.replaceChildren(box);
}

/** The challenge's actions in order (请眨眼，然后请向左转头 …), one line each. */
function showActions(ch) {
  const texts = ch.action_guidance && ch.action_guidance.length ? ch.action_guidance : [ch.guidance];
  ui.prompt.textContent = "请正对摄像头，倒计时结束后依次完成动作";
  const ol = el("ol", { class: "actions", id: "burst-actions", style: "font-size:22px;font-weight:700;text-align:left;margin:6px 0" });
  texts.forEach((t, i) => ol.append(el("li", { "data-action": ch.actions[i] || "", text: t })));
  ui.guidance.replaceChildren(ol);
}

async function submitSnapshot(ch) {
  ui.prompt.textContent = "正在比对…";
  const jpeg = await grabJpeg();
  return api.call("POST", `/v1/sessions/${session.session_id}/snapshots?challenge_id=${encodeURIComponent(ch.id)}`, {
    body: jpeg, contentType: "image/jpeg", headers: { "Idempotency-Key": ch.id },
  });
}

/** Record ~2 s while the driver performs the actions, then one multipart upload. */
async function submitBurst(ch) {
  ui.prompt.textContent = "请现在完成动作：" + (ch.action_guidance || []).join("，然后");
  ui.count.dataset.recording = "true";
  const code = ch.light_code || [];
  const { blobs, times } = await recordBurst(BURST_FRAMES, (k, n) => (ui.count.textContent = `● ${k}/${n}`), code, ui.prompt.textContent);
  delete ui.count.dataset.recording;
  ui.count.textContent = "";
  ui.prompt.textContent = "正在核验动作与人脸…";
  const form = new FormData();
  blobs.forEach((b, i) => form.append("frames", b, `frame-${String(i).padStart(2, "0")}.jpg`));
  if (code.length) form.append("frame_times_ms", times.join(","));
  // No content-type header: the browser sets multipart/form-data with its boundary.
  return api.call("POST", `/v1/sessions/${session.session_id}/bursts?challenge_id=${encodeURIComponent(ch.id)}`, {
    body: form, headers: { "Idempotency-Key": ch.id },
  });
}

/** One capture challenge: prompt, countdown, capture, POST, verdict; retries follow on. */
async function runChallenge(ch) {
  if (capturing) return;
  capturing = true;
  try {
    let current = ch;
    while (current) {
      const burst = Boolean(current.actions && current.actions.length);
      ui.overlay.classList.remove("hidden");
      ui.overlay.dataset.burst = String(burst);
      ui.prompt.textContent = "请正对摄像头";
      if (burst) showActions(current);
      else ui.guidance.textContent = current.guidance && current.guidance !== "请正对摄像头" ? current.guidance : "";
      for (let n = COUNTDOWN_S; n > 0; n--) {
        ui.count.textContent = String(n);
        await sleep(1000);
      }
      ui.count.textContent = "";
      let r;
      try {
        r = burst ? await submitBurst(current) : await submitSnapshot(current);
      } catch (e) {
        ui.overlay.classList.add("hidden");
        show(ui.msg, errText(e));
        if (e instanceof ApiError && (e.code === "overloaded" || e.code === "rate_limited")) {
          await sleep(1000 * Number(e.details.retry_after_s || 2));
          continue; // same challenge, same idempotency key
        }
        const s = await api.call("POST", `/v1/sessions/${session.session_id}/heartbeat`);
        render(s);
        current = s.challenge;
        continue;
      }
      ui.overlay.classList.add("hidden");
      show(ui.msg, "");
      if (r.passed) { passedCount += 1; ui.passed.textContent = `${passedCount} 次`; ui.passed.dataset.count = String(passedCount); }
      logLine(r, current);
      showVerdict(r, burst);
      render(r.session);
      if (r.session.state !== "active") break;
      current = r.session.challenge;
      if (current) await sleep(HOLD_MS);
    }
  } finally {
    capturing = false;
    ui.overlay.classList.add("hidden");
  }
  if (session.state === "terminated_invalid") ended();
  else if (session.state === "identity_review") await identityReview();
}

/** Uncertain entry check: not a strike. The driver photographs themself holding their ID
 * card; a reviewer compares it (and the entry capture) with the registered photo. The page
 * then waits for the decision: approved → the session goes on; rejected → it has ended. */
async function identityReview() {
  const box = el("div", { class: "card", id: "identity-review-box" },
    el("h3", { text: "需要人工核验身份" }),
    el("p", { text: "系统无法确定画面中是否为本人（不计入失败次数）。请手持本人身份证，让人脸和证件同时出现在画面中，然后拍照提交。" }));
  const btn = el("button", { class: "primary", id: "id-photo", text: "拍摄手持身份证照片并提交" });
  const out = el("div", { id: "identity-review-msg" });
  box.append(el("div", { class: "row", style: "margin-top:6px" }, btn), out);
  ui.verdict.replaceChildren(box);
  await new Promise((resolve) => {
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try {
        const jpeg = await grabJpeg();
        const m = await api.call("POST", `/v1/me/identity-review?session_id=${encodeURIComponent(session.session_id)}`, { body: jpeg, contentType: "image/jpeg" });
        out.dataset.reviewId = m.review_id;
        show(out, `已提交人工核验（${m.review_id}），请稍候，审核完成后将自动继续。`, "ok");
        resolve();
      } catch (e) {
        btn.disabled = false;
        show(out, errText(e));
      }
    });
  });
  while (session.state === "identity_review") {
    await sleep(POLL_MS);
    try {
      render(await api.call("POST", `/v1/sessions/${session.session_id}/heartbeat`));
    } catch (e) {
      show(out, errText(e));
    }
  }
  if (session.state === "terminated_invalid") return ended();
  show(out, "身份核验已通过，可以继续。", "ok");
  if (session.kind === "exam") await nextQuestion();
  else if (session.challenge) await runChallenge(session.challenge);
}

// Why a session ended invalid (SessionOut.termination_reason), as the driver reads it.
const ENDED_WHY = {
  identity_review_rejected: "人工核验身份未通过",
  identity_review_expired: "身份人工核验超过 24 小时未完成，本次会话已关闭，请重新开始",
};

function ended(why = session.termination_reason || "three_consecutive_failures") {
  stopPolling();
  stopClock();
  $("#question").classList.add("hidden");
  ["#study-start", "#study-complete", "#exam-start"].forEach((s) => ($(s).disabled = true));
  const box = el("div", { class: "card ended", id: "ended-box" },
    el("h3", { text: "本次会话已终止" }),
    el("p", { "data-why": why, text: `${ENDED_WHY[why] || `连续 ${MAX_FAILS} 次人脸核验未通过`}，本次${session.kind === "exam" ? "考试成绩无效" : "学习时长不予计入"}。` }),
    el("p", { class: "mute", text: "如确系本人操作，可在 24 小时内申请复核，由交管部门人工审查。" }));
  const statement = el("textarea", { rows: "2", placeholder: "复核说明（选填）" });
  const btn = el("button", { class: "primary", text: "申请复核" });
  const out = el("div");
  btn.addEventListener("click", async () => {
    try {
      const m = await api.call("POST", `/v1/sessions/${session.session_id}/review-request`, { json: { statement: statement.value } });
      show(out, `已提交复核申请（${m.review_id}）`, "ok");
      btn.disabled = true;
    } catch (e) {
      show(out, errText(e));
    }
  });
  box.append(statement, el("div", { class: "row", style: "margin-top:6px" }, btn), out);
  ui.ended.replaceChildren(box);
  ui.ended.classList.remove("hidden");
}

// ---- study ----------------------------------------------------------------------------------
function stopPolling() {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

async function poll() {
  if (capturing || !session || session.state !== "active") return;
  try {
    const s = await api.call("POST", `/v1/sessions/${session.session_id}/heartbeat`);
    if (capturing) return;
    render(s);
    if (s.state === "terminated_invalid") return ended();
    if (s.challenge) await runChallenge(s.challenge);
  } catch (e) {
    show(ui.msg, errText(e));
  }
}

$("#study-start").addEventListener("click", async () => {
  try {
    if (CODE_SYNC !== "camera") await startCamera();
    const s = await api.call("POST", "/v1/sessions", { json: { kind: "study" } });
    render(s);
    $("#study-start").disabled = true;
    $("#study-complete").disabled = false;
    show(ui.msg, "学习已开始：学习期间将随机要求人脸核验，请保持在摄像头前。", "ok");
    pollTimer = setInterval(poll, POLL_MS);
    if (s.challenge) await runChallenge(s.challenge);
  } catch (e) {
    show(ui.msg, errText(e));
  }
});

async function completeStudy() {
  // A capture due now must be answered first: the server refuses with capture_pending.
  for (let i = 0; i < 5; i++) {
    while (capturing) await sleep(200);
    try {
      return await api.call("POST", `/v1/sessions/${session.session_id}/complete`);
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== "capture_pending") throw e;
      show(ui.msg, "请先完成当前人脸核验。");
      const s = await api.call("POST", `/v1/sessions/${session.session_id}/heartbeat`);
      render(s);
      if (s.challenge) await runChallenge(s.challenge);
      if (session.state !== "active") throw e;
    }
  }
  throw new ApiError(409, "capture_pending", "请稍后再试");
}

$("#study-complete").addEventListener("click", async () => {
  try {
    const s = await completeStudy();
    stopPolling();
    render(s);
    $("#study-complete").disabled = true;
    const mins = Math.floor(s.credited_s / 60), secs = Math.round(s.credited_s % 60);
    show(ui.msg, `学习完成，本次计入学习时长 ${mins} 分 ${secs} 秒。`, "ok");
    markDone("study");
  } catch (e) {
    show(ui.msg, errText(e));
  }
});

// ---- exam: the 60 s question clock follows the server's pause state ------------------------
// The server pauses the question clock from a challenge's issue until its decision is stored.
// The page keeps the question's shown instant and the pause intervals in server time, so the
// remaining time it shows is the server's: budget - (now - shown - paused).
let clock = null; // {index, budget, shownAt, pauses: [[start, end|null]], offset, timer}

function serverNow() {
  return Date.now() + (clock ? clock.offset : 0);
}

function remainingAt(t) {
  let paused = 0;
  for (const [a, b] of clock.pauses) {
    const lo = Math.max(a, clock.shownAt), hi = Math.min(b ?? t, t);
    if (hi > lo) paused += hi - lo;
  }
  return Math.min(clock.budget * 1000, clock.budget * 1000 - (t - clock.shownAt - paused));
}

function syncClock(s) {
  if (!clock) return;
  const t = Date.parse(s.server_time);
  clock.offset = t - Date.now();
  const open = clock.pauses.length && clock.pauses[clock.pauses.length - 1][1] === null;
  const pending = Boolean(s.challenge); // the server pauses the clock while one is pending
  if (s.challenge && !open) {
    const start = Date.parse(s.challenge.issued_at);
    clock.pauses.push([start, null]);
    ui.timer.dataset.remainingAtPause = String(remainingAt(start));
  } else if (!pending && open) {
    clock.pauses[clock.pauses.length - 1][1] = t; // the decision's server instant
    ui.timer.dataset.remainingAtResume = String(remainingAt(t));
  }
  drawClock();
}

function drawClock() {
  if (!clock) return;
  const open = clock.pauses.length && clock.pauses[clock.pauses.length - 1][1] === null;
  const ms = Math.max(0, remainingAt(serverNow()));
  ui.timer.textContent = String(Math.ceil(ms / 1000));
  ui.timer.dataset.paused = String(Boolean(open));
  ui.timer.dataset.remaining = String(Math.round(ms));
  ui.timer.classList.toggle("paused", Boolean(open));
  ui.timer.classList.toggle("low", !open && ms < 10000);
  ui.timerLabel.classList.toggle("hidden", !open);
  ui.timerLabel.textContent = open ? "‖ 人脸核验中，计时暂停" : "";
  if (!open && ms === 0) { ui.timerLabel.classList.remove("hidden"); ui.timerLabel.textContent = "本题已超时，作答不计分"; }
}

function stopClock() {
  if (clock?.timer) clearInterval(clock.timer);
}

$("#exam-start").addEventListener("click", async () => {
  try {
    await startCamera();
    $("#exam-start").disabled = true;
    const s = await api.call("POST", "/v1/exams");
    render(s);
    show(ui.msg, "考试开始前需进行人脸核验。", "ok");
    if (s.challenge) await runChallenge(s.challenge);
    if (session.state === "active") await nextQuestion();
  } catch (e) {
    show(ui.msg, errText(e));
  }
});

async function nextQuestion() {
  stopClock();
  let q = null;
  while (!q) {
    try {
      q = await api.call("POST", `/v1/exams/${session.session_id}/questions/next`);
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== "capture_pending") throw e;
      // A face capture comes before this question; the question stays hidden until the
      // capture is decided, so neither the capture nor the comparison is answer time
      // (人脸比对时间不计入答题时间).
      $("#question").classList.add("hidden");
      const n = Number($("#question").dataset.capturesBefore || "0") + 1;
      $("#question").dataset.capturesBefore = String(n);
      const s = await api.call("POST", `/v1/sessions/${session.session_id}/heartbeat`);
      render(s);
      if (s.challenge) await runChallenge(s.challenge);
      if (session.state !== "active") return;
    }
  }
  const shown = Date.parse(q.session.server_time);
  clock = { index: q.index, budget: q.budget_s, shownAt: shown, pauses: [], offset: shown - Date.now(), timer: null };
  delete ui.timer.dataset.remainingAtPause;
  delete ui.timer.dataset.remainingAtResume;
  $("#question").classList.remove("hidden");
  $("#question").dataset.index = String(q.index);
  $("#question").dataset.questionId = q.question_id;
  $("#q-index").textContent = `第 ${q.index + 1} 题`;
  $("#q-stem").textContent = q.stem;
  const opts = $("#q-options");
  opts.replaceChildren();
  for (const [k, v] of Object.entries(q.options)) {
    opts.append(el("button", { "data-choice": k, onclick: () => answer(q.index, k) }, `${k}．${v}`));
  }
  clock.timer = setInterval(drawClock, 200);
  render(q.session);
  if (q.session.challenge) {
    setOptions(false);
    await runChallenge(q.session.challenge);
    if (session.state === "active") setOptions(true);
  }
}

function setOptions(on) {
  document.querySelectorAll("#q-options button").forEach((b) => (b.disabled = !on));
}

async function answer(index, choice) {
  setOptions(false);
  try {
    const a = await api.call("POST", `/v1/exams/${session.session_id}/questions/${index}/answer`, { json: { choice } });
    stopClock();
    render(a.session);
    ui.log.prepend(el("div", { class: a.correct && a.counted ? "pass" : "fail", text: `第${index + 1}题 用时 ${a.effective_s.toFixed(1)} 秒${a.counted ? "" : "（超时）"}` }));
    if (a.session.challenge) {
      $("#question").classList.add("hidden");
      await runChallenge(a.session.challenge);
      if (session.state === "terminated_invalid") return;
      return finish();
    }
    if (a.exam_over) return finish();
    await nextQuestion();
  } catch (e) {
    show(ui.msg, errText(e));
    setOptions(true);
  }
}

async function finish() {
  stopClock();
  $("#question").classList.add("hidden");
  const r = await api.call("POST", `/v1/exams/${session.session_id}/finish`);
  const ok = r.passed && r.valid;
  const box = el("div", { class: "card", id: "result", "data-passed": String(r.passed), "data-valid": String(r.valid) },
    el("h3", { class: `result ${ok ? "pass" : "fail"}`, text: ok ? "考试合格" : r.valid ? "考试不合格" : "考试成绩无效" }),
    el("p", { text: `答对 ${r.correct} 题，答错 ${r.wrong} 题，共作答 ${r.questions_used} 题${r.ended_early ? "（提前结束）" : ""}。` }),
    el("p", { class: "mute", text: ok ? "成绩将报送交管部门，审核通过后扣减相应记分。" : "可按规定重新学习后再次参加考试。" }));
  ui.ended.replaceChildren(box);
  ui.ended.classList.remove("hidden");
  if (ok) markDone("exam");
}

// ---- start ----------------------------------------------------------------------------------
if (api.token) { $("#token").value = api.token; loggedIn(); }
