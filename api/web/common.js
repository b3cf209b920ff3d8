// Shared helpers for the reference pages: tokens, the API envelope, reason codes in Chinese.
// Plain ES modules, no build step. The server is the same origin that served the page.

export const REASONS = {
  // quality (proctor.quality) and session reasons (proctor.session.states)
  no_face: ["未检测到人脸", "请让整张脸出现在画面中央，不要遮挡。"],
  multiple_faces: ["检测到多张人脸", "请确保画面中只有您一人，其他人请离开。"],
  face_too_small: ["人脸太小", "请靠近摄像头一些。"],
  face_cut_off: ["人脸不完整", "请把整张脸移到画面中央。"],
  too_dark: ["光线太暗", "请打开灯或面向光源，避免背光。"],
  too_bright: ["光线太亮", "请避免强光直射面部或背后有强光。"],
  blurry: ["画面模糊", "请保持不动，并擦拭摄像头镜头。"],
  head_turned: ["头部偏转", "请正对摄像头，不要低头或侧脸。"],
  face_mismatch: ["人脸不匹配", "与登记照片不一致。必须由本人学习和考试，不得替学替考。"],
  replay: ["疑似重复使用的照片", "请使用实时摄像头拍摄，不要上传旧照片。"],
  capture_timeout: ["拍摄超时", "请在倒计时内完成拍摄，保持摄像头开启。"],
  spoof_suspected: ["疑似非真人", "请本人面对摄像头完成指定动作。"],
  // liveness bursts (proctor.liveness.judge reason codes)
  action_missing: ["未检测到指定动作", "请在录制的约 2 秒内按提示完成动作（眨眼、转头或张嘴），动作幅度稍大一些。"],
  action_wrong_order: ["动作顺序不对", "请按提示的先后顺序完成动作。"],
  identity_changed_in_burst: ["画面中的人脸发生变化", "录制期间请始终由本人面对摄像头。"],
  too_few_frames: ["有效画面太少", "请保持整张脸在画面中，光线充足，并保持摄像头开启。"],
  flat_motion_suspected: ["疑似照片或屏幕翻拍", "请本人面对摄像头完成动作，不要使用照片或视频。"],
  light_code_missing: ["未检测到屏幕光线变化", "请在录制时保持面部正对屏幕，调高屏幕亮度，避免强光直射。"],
  light_code_mismatch: ["屏幕光线与本次核验不符", "请本人面对屏幕完成核验，不要使用事先录制的视频。"],
  light_code_shifted: ["屏幕光线时间不符", "请本人面对屏幕完成核验，不要使用事先录制的视频。"],
  continuity_broken: ["画面不连续", "请保持摄像头稳定，本人完成动作，不要使用剪辑的视频。"],
  liveness_passed: ["动作核验通过", ""],
  identity_uncertain: ["无法确定是否为本人", "本次不计入失败次数。请手持本人身份证拍照，提交人工核验。"],
  unsupported_format: ["图片格式不支持", "请重试。"],
  corrupt_image: ["图片损坏", "请重试。"],
};

export const FLAGS = {
  proxy_face: "疑似替学替考（他人人脸）",
  extra_people: "画面中有其他人",
  replay: "重复使用照片",
  replay_suspected: "疑似重放",
  spoof_suspected: "疑似非真人",
};

export const STATES = {
  active: "进行中",
  identity_review: "等待人工核验身份",
  completed: "已完成",
  terminated_invalid: "已终止（无效）",
};

export function reasonText(code) {
  const r = REASONS[code];
  return r ? r[0] : code;
}

export function reasonAdvice(code) {
  const r = REASONS[code];
  return r ? r[1] : "";
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

/** Decode a token's payload for display only (the server verifies it). */
export function tokenClaims(token) {
  try {
    const body = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(body + "=".repeat((4 - (body.length % 4)) % 4)));
  } catch {
    return null;
  }
}

export class Client {
  constructor(storageKey) {
    this.storageKey = storageKey;
    this.token = sessionStorage.getItem(storageKey) || "";
  }

  setToken(token) {
    this.token = token.trim();
    sessionStorage.setItem(this.storageKey, this.token);
  }

  get claims() {
    return this.token ? tokenClaims(this.token) : null;
  }

  /** Development only: the server mints a token when PROCTOR_DEV_TOKEN_ENDPOINT=true. */
  async devToken(sub, role) {
    const r = await fetch("/v1/dev/tokens", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sub, role }),
    });
    if (r.status === 404) {
      throw new ApiError(404, "dev_endpoint_off", "开发令牌接口未开启（PROCTOR_DEV_TOKEN_ENDPOINT=true）");
    }
    const data = await r.json();
    if (!r.ok) throw new ApiError(r.status, data.error?.code, data.error?.message, data.error?.details);
    this.setToken(data.token);
    return data.token;
  }

  async call(method, path, { json, body, contentType, headers, raw } = {}) {
    const h = { ...(headers || {}) };
    if (this.token) h.authorization = "Bearer " + this.token;
    let payload = body;
    if (json !== undefined) {
      h["content-type"] = "application/json";
      payload = JSON.stringify(json);
    } else if (contentType) {
      h["content-type"] = contentType;
    }
    const r = await fetch(path, { method, headers: h, body: payload, cache: "no-store" });
    if (!r.ok) {
      let err = { code: "http_" + r.status, message: r.statusText, details: {} };
      try {
        err = (await r.json()).error || err;
      } catch {
        /* not an envelope */
      }
      throw new ApiError(r.status, err.code, err.message, err.details);
    }
    if (raw) return r;
    if (r.status === 204) return null;
    return r.json();
  }
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
