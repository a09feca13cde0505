/* The trainee web app: sign-in, real-name registration, face consent and enrollment, classes and
 * progress, the lesson player (heartbeats, focus, no seeking ahead, random face checks), exams with a
 * countdown, and certificates. It talks only to the gateway's /api/v1; tokens live in sessionStorage.
 */
"use strict";

const CONSENT_DAYS = 1095;
// Rejections after which the player rewinds to the last verified point (docs/learning.md).
const REWATCH = new Set(["FOCUS_LOST", "PLAYBACK_RATE", "SEEK_PAST_FURTHEST", "POSITION_MISMATCH"]);
const CONSENT_PURPOSE = "identity verification during online safety training";
const view = () => document.getElementById("view");

/* ---------- session and API ---------- */

const auth = {
  get() { try { return JSON.parse(sessionStorage.getItem("auth") || "null"); } catch { return null; } },
  set(value) { value ? sessionStorage.setItem("auth", JSON.stringify(value)) : sessionStorage.removeItem("auth"); },
};

class ApiError extends Error {
  constructor(problem, status) {
    const fields = (problem.errors || []).map((e) => `${e.field}: ${e.detail}`).join("; ");
    super([problem.reason, problem.detail, fields].filter(Boolean).join(" — ") || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

async function api(method, path, body, { retried = false } = {}) {
  const headers = { Accept: "application/json" };
  const session = auth.get();
  if (session) headers.Authorization = `Bearer ${session.tokens.access_token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && session && !retried && (await refreshTokens())) return api(method, path, body, { retried: true });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data, response.status);
  return data;
}

async function refreshTokens() {
  const session = auth.get();
  try {
    const response = await fetch("/api/v1/sessions/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.tokens.refresh_token }),
    });
    if (!response.ok) return false;
    auth.set({ ...session, tokens: (await response.json()).tokens });
    return true;
  } catch { return false; }
}

function notify(message, isError = false) {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.className = isError ? "error" : "";
}

function fail(error) { notify(t("error", { error: error.message || error }), true); }

function deviceId() {
  let id = localStorage.getItem("device_id");
  if (!id) { id = "web-" + crypto.randomUUID(); localStorage.setItem("device_id", id); }
  return id;
}

const hours = (value) => (Math.round(value * 100) / 100).toString();
const when = (stamp) => (stamp ? new Date(stamp).toLocaleString(currentLang() === "zh" ? "zh-CN" : "en") : "");

/* ---------- camera ---------- */

// The page asks for 4:3 frames; the face is analysed from the whole frame.
const CAMERA = { video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" }, audio: false };
let cameraStream = null;

async function openCamera(videoElement) {
  if (!cameraStream || !cameraStream.active) cameraStream = await navigator.mediaDevices.getUserMedia(CAMERA);
  videoElement.srcObject = cameraStream;
  await videoElement.play().catch(() => {});
  if (videoElement.readyState < 2) await new Promise((resolve) => videoElement.addEventListener("loadeddata", resolve, { once: true }));
  // A frame has been presented, so a capture holds a picture rather than a blank start-up frame.
  await new Promise((resolve) => videoElement.requestVideoFrameCallback(() => resolve()));
  videoElement.dataset.ready = "true";
}

function closeCamera() {
  if (cameraStream) for (const track of cameraStream.getTracks()) track.stop();
  cameraStream = null;
}

function captureFrame(videoElement) {
  const canvas = document.createElement("canvas");
  canvas.width = videoElement.videoWidth;
  canvas.height = videoElement.videoHeight;
  canvas.getContext("2d").drawImage(videoElement, 0, 0);
  return canvas.toDataURL("image/jpeg", 0.92).split(",")[1];
}

/* ---------- views ---------- */

const routes = [
  [/^#\/register$/, renderRegister, false],
  [/^#\/face$/, renderFace, true],
  [/^#\/classes$/, renderClasses, true],
  [/^#\/study\/([^/]+)\/([^/]+)$/, renderStudy, true],
  [/^#\/exam\/([^/]+)\/([^/]+)$/, renderExam, true],
  [/^#\/certificates$/, renderCertificates, true],
  [/^#\/login$/, renderLogin, false],
];

let leaveView = null;
let routeNotice = false;  // a notice meant for the next view (e.g. "registered" on the sign-in page)

async function route() {
  if (leaveView) { const leave = leaveView; leaveView = null; await leave(); }
  if (!routeNotice) notify("");
  routeNotice = false;
  const signedIn = Boolean(auth.get());
  for (const el of document.querySelectorAll("[data-auth]")) el.hidden = !signedIn;
  const hash = location.hash || (signedIn ? "#/classes" : "#/login");
  for (const [pattern, render, needsAuth] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    if (needsAuth && !signedIn) { location.hash = "#/login"; return; }
    try { await render(...match.slice(1)); } catch (error) { fail(error); }
    view().focus();
    return;
  }
  location.hash = signedIn ? "#/classes" : "#/login";
}

function renderLogin() {
  view().innerHTML = `
    <h2>${t("login_title")}</h2>
    <form id="login-form">
      <label>${t("login_name")}<input name="login" autocomplete="username" required></label>
      <label>${t("password")}<input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">${t("login")}</button>
    </form>
    <p>${t("no_account")} <a href="#/register">${t("register_link")}</a></p>`;
  document.getElementById("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const signed = await api("POST", "/api/v1/sessions", { login: form.get("login"), password: form.get("password") });
      auth.set({ tokens: signed.tokens, user: signed.user });
      notify("");
      const face = await api("GET", `/api/v1/users/${signed.user.user_id}/face`).catch(() => null);
      location.hash = face && face.enrolled ? "#/classes" : "#/face";
    } catch (error) { fail(error); }
  });
}

function renderRegister() {
  view().innerHTML = `
    <h2>${t("register_title")}</h2>
    <form id="register-form">
      <label>${t("display_name")}<input name="display_name" autocomplete="name" required></label>
      <label>${t("national_id")}<input name="national_id" required minlength="18" maxlength="18"></label>
      <label>${t("phone")}<input name="phone" type="tel" autocomplete="tel" required></label>
      <label>${t("employer_name")}<input name="employer_name" autocomplete="organization" required></label>
      <label>${t("employer_code")}<input name="employer_code" required minlength="18" maxlength="18"></label>
      <label>${t("password")}<input name="password" type="password" autocomplete="new-password" required></label>
      <button type="submit">${t("register")}</button>
    </form>`;
  document.getElementById("register-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = new FormData(event.target);
    const body = {
      display_name: f.get("display_name"), national_id: f.get("national_id"), phone: f.get("phone"), password: f.get("password"),
      employer: { name: f.get("employer_name"), credit_code: f.get("employer_code") },
    };
    try {
      await api("POST", "/api/v1/trainees", body);
      notify(t("registered"));
      routeNotice = true;
      location.hash = "#/login";
    } catch (error) { fail(error); }
  });
}

async function renderFace() {
  const { user } = auth.get();
  const status = await api("GET", `/api/v1/users/${user.user_id}/face`);
  view().innerHTML = `
    <h2>${t("face_title")}</h2>
    <section class="card" aria-labelledby="consent-h">
      <h3 id="consent-h">1. ${t("face_consent_button")}</h3>
      <p>${t("face_consent_text", { days: CONSENT_DAYS })}</p>
      ${status.consented
        ? `<p class="ok" id="consent-state">${t("face_consented", { at: when(status.consented_at) })}</p>`
        : `<form id="consent-form"><label class="row"><input type="checkbox" name="agree" required> ${t("face_consent_check")}</label>
           <button type="submit">${t("face_consent_button")}</button></form>`}
    </section>
    <section class="card camera" aria-labelledby="enroll-h">
      <h3 id="enroll-h">2. ${t("face_enroll")}</h3>
      <p id="enroll-state" class="${status.enrolled ? "ok" : "muted"}">${status.enrolled ? t("face_enrolled", { at: when(status.enrolled_at) }) : t("face_not_enrolled")}</p>
      <video id="face-camera" autoplay muted playsinline aria-label="${t("face_camera")}"></video>
      <p class="row"><button type="button" id="enroll" disabled>${t("face_enroll")}</button>
      <a href="#/classes" id="go-classes" ${status.enrolled ? "" : "hidden"}>${t("face_go_classes")}</a></p>
    </section>`;
  leaveView = async () => closeCamera();
  const consentForm = document.getElementById("consent-form");
  if (consentForm) consentForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/api/v1/face/consent", { purpose: CONSENT_PURPOSE, retention_days: CONSENT_DAYS });
      await renderFace();
    } catch (error) { fail(error); }
  });
  const camera = document.getElementById("face-camera");
  try { await openCamera(camera); } catch (error) { notify(t("camera_denied", { error: error.message }), true); return; }
  const enroll = document.getElementById("enroll");
  enroll.disabled = !status.consented;  // consent first, and a camera picture to send
  enroll.addEventListener("click", async (event) => {
    event.target.disabled = true;
    try {
      const enrolled = await api("PUT", "/api/v1/face/enrollment", { image: captureFrame(camera) });
      const state = document.getElementById("enroll-state");
      state.textContent = t("face_enrolled", { at: when(enrolled.enrolled_at) });
      state.className = "ok";
      document.getElementById("go-classes").hidden = false;
      notify(t("face_enrolled_ok"));
    } catch (error) { fail(error); } finally { event.target.disabled = false; }
  });
}

async function loadClass(enrollment) {
  const [klass, progress] = await Promise.all([
    api("GET", `/api/v1/classes/${enrollment.class_id}`),
    api("GET", `/api/v1/enrollments/${enrollment.enrollment_id}/progress`),
  ]);
  const syllabus = await api("GET", `/api/v1/syllabi/${klass.training_class.syllabus_id}`).catch(() => null);
  const courses = await Promise.all(klass.training_class.course_ids.map((id) => api("GET", `/api/v1/courses/${id}`).then((r) => r.course)));
  const exams = await api("GET", `/api/v1/exams?class_id=${enrollment.class_id}`).then((r) => r.exams).catch(() => []);
  return { enrollment, klass: klass.training_class, progress: progress.progress, syllabus: syllabus && syllabus.syllabus, courses, exams };
}

async function renderClasses() {
  view().innerHTML = `<h2>${t("classes_title")}</h2><p class="muted">${t("loading")}</p>`;
  const { enrollments } = await api("GET", "/api/v1/enrollments");
  const classes = await Promise.all(enrollments.map(loadClass));
  view().innerHTML = `<h2>${t("classes_title")}</h2>` + (classes.length ? classes.map(classCard).join("") : `<p>${t("no_classes")}</p>`);
}

function classCard({ enrollment, klass, progress, syllabus, courses, exams }) {
  const topicTitle = (topic) => ((syllabus && syllabus.topics.find((s) => s.topic_id === topic.topic_id)) || {}).title || topic.code;
  const lessonsById = Object.fromEntries(courses.flatMap((c) => c.lessons.map((l) => [l.lesson_id, { ...l, course: c }])));
  const state = progress.state.replace("ENROLLMENT_STATE_", "");
  const topics = progress.topics.map((topic) => `
      <tr data-topic="${esc(topic.code)}"><td>${esc(topicTitle(topic))}</td><td>${topic.required_hours}</td>
      <td class="credited-hours">${hours(topic.credited_hours)}</td>
      <td><div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="${topic.required_hours}" aria-valuenow="${hours(topic.credited_hours)}" aria-label="${esc(topicTitle(topic))}">
      <span style="width:${Math.min(100, (100 * topic.credited_hours) / Math.max(topic.required_hours, 1e-9))}%"></span></div></td></tr>`).join("");
  const lessons = progress.lessons.map((lesson) => {
    const info = lessonsById[lesson.lesson_id] || { title: lesson.lesson_id };
    const status = lesson.withdrawn ? t("withdrawn") : lesson.finished ? `<span class="ok">${t("finished")}</span>` : "";
    return `<tr data-lesson="${esc(lesson.lesson_id)}"><td>${esc(info.title)}</td><td>${lesson.duration_seconds} s</td>
      <td>${Math.round(lesson.credited_seconds)} s</td><td>${status}</td>
      <td>${lesson.withdrawn ? "" : `<a class="study-link" href="#/study/${enrollment.enrollment_id}/${lesson.lesson_id}">${t("study")}</a>`}</td></tr>`;
  }).join("");
  const examRows = exams.map((exam) => {
    const kind = exam.kind;
    const locked = kind === "EXAM_KIND_FINAL" && state !== "COMPLETED";
    return `<li data-exam="${esc(exam.exam_id)}">${t("exam_kind_" + kind)}：${esc(exam.title)} (${exam.time_limit_minutes} min)
      ${locked ? `<span class="muted">${t("exam_needs_completion")}</span>` : `<a class="exam-link" href="#/exam/${enrollment.enrollment_id}/${exam.exam_id}">${t("start_exam")}</a>`}</li>`;
  }).join("");
  return `
    <section class="card class-card" data-class="${esc(klass.class_id)}" data-state="${state}" aria-labelledby="c-${esc(klass.class_id)}">
      <h3 id="c-${esc(klass.class_id)}">${esc(klass.title)}</h3>
      <p><strong class="class-state">${t("state_" + state)}</strong> · ${t("class_hours", { credited: hours(progress.credited_hours), required: progress.required_hours })}</p>
      <table><caption class="muted">${t("progress")}</caption><thead><tr><th>${t("topic")}</th><th>${t("required")}</th><th>${t("credited")}</th><th></th></tr></thead><tbody>${topics}</tbody></table>
      <h4>${t("lessons")}</h4>
      <table><thead><tr><th>${t("lesson")}</th><th>${t("duration")}</th><th>${t("credited_time")}</th><th></th><th></th></tr></thead><tbody>${lessons}</tbody></table>
      ${exams.length ? `<h4>${t("exams")}</h4><ul>${examRows}</ul>` : ""}
    </section>`;
}

/* ---------- the lesson player ---------- */

function mediaUrl(ref) { return ref.startsWith("media://") ? "/media/" + ref.slice("media://".length) : ref; }

async function renderStudy(enrollmentId, lessonId) {
  const enrollment = (await api("GET", "/api/v1/enrollments")).enrollments.find((e) => e.enrollment_id === enrollmentId);
  const { progress, courses } = await loadClass(enrollment);
  const lesson = courses.flatMap((c) => c.lessons).find((l) => l.lesson_id === lessonId);
  const lessonProgress = progress.lessons.find((l) => l.lesson_id === lessonId);
  view().innerHTML = `
    <h2>${t("study_title", { lesson: esc(lesson.title) })}</h2>
    <div class="stage">
      <div>
        <video id="player" preload="auto" playsinline muted src="${esc(mediaUrl(lesson.media_ref))}"></video>
        <div class="row">
          <button type="button" id="start" disabled>${t("study_start")}</button>
          <button type="button" id="play" hidden>${t("study_play")}</button>
          <button type="button" id="pause" class="secondary" hidden>${t("study_pause")}</button>
          <button type="button" id="resume-check" hidden>${t("study_resume_check")}</button>
          <button type="button" id="end" class="secondary" hidden>${t("study_end")}</button>
          <a href="#/classes">${t("study_back")}</a>
        </div>
        <label>${t("study_position")} <input type="range" id="seek" min="0" max="${lesson.duration_seconds}" step="1" value="0"></label>
        <p id="study-status" role="status" aria-live="polite"></p>
      </div>
      <div class="camera"><video id="study-camera" autoplay muted playsinline aria-label="${t("study_camera")}"></video></div>
    </div>`;
  const player = new LessonPlayer({ enrollmentId, lesson, lessonProgress });
  leaveView = () => player.leave();
  await player.mount();
}

class LessonPlayer {
  constructor({ enrollmentId, lesson, lessonProgress }) {
    this.enrollmentId = enrollmentId;
    this.lesson = lesson;
    this.video = document.getElementById("player");
    this.camera = document.getElementById("study-camera");
    this.status = document.getElementById("study-status");
    this.seek = document.getElementById("seek");
    this.session = null;
    this.sequence = 0;
    this.timer = null;
    this.checking = false;
    this.ending = false;
    this.focused = true;  // the window has focus and is visible
    this.unfocused = false;  // focus or visibility lost since the last heartbeat
    this.focusPaused = false;
    // Playback may not go beyond what was watched: the credited furthest point, then what plays at 1x.
    this.furthest = lessonProgress ? lessonProgress.furthest_position_seconds : 0;
    // The last position the server verified (a baseline or a pending interval ended there).
    this.verified = this.furthest;
    this.beats = Promise.resolve();
  }

  button(id) { return document.getElementById(id); }
  say(text, isError = false) { this.status.textContent = text; this.status.className = isError ? "bad" : ""; }

  async mount() {
    this.video.addEventListener("seeking", () => this.onSeeking());
    this.video.addEventListener("timeupdate", () => this.onTimeUpdate());
    this.video.addEventListener("ratechange", () => { if (this.video.playbackRate !== 1) this.video.playbackRate = 1; });
    this.video.addEventListener("ended", () => this.finish());
    this.seek.addEventListener("input", () => { this.video.currentTime = Number(this.seek.value); });
    this.onBlur = () => this.loseFocus();
    this.onFocus = () => { this.focused = document.visibilityState === "visible"; };
    this.onVisibility = () => (document.visibilityState === "hidden" ? this.loseFocus() : this.onFocus());
    window.addEventListener("blur", this.onBlur);
    window.addEventListener("focus", this.onFocus);
    document.addEventListener("visibilitychange", this.onVisibility);
    this.button("start").addEventListener("click", () => this.start());
    this.button("play").addEventListener("click", () => this.play());
    this.button("pause").addEventListener("click", () => this.video.pause());
    this.button("resume-check").addEventListener("click", () => this.faceCheck());
    this.button("end").addEventListener("click", () => this.end());
    try {
      await openCamera(this.camera);
      this.button("start").disabled = false;  // the start check needs a camera picture
    } catch (error) { this.say(t("camera_denied", { error: error.message }), true); }
  }

  async leave() {
    window.removeEventListener("blur", this.onBlur);
    window.removeEventListener("focus", this.onFocus);
    document.removeEventListener("visibilitychange", this.onVisibility);
    if (this.session && this.session.state !== "SESSION_STATE_ENDED") await this.end();
    clearInterval(this.timer);
    closeCamera();
  }

  onSeeking() {
    if (this.video.currentTime > this.furthest + 0.5) {
      this.video.currentTime = this.furthest;
      this.say(t("study_no_seek"), true);
    }
  }

  onTimeUpdate() {
    const position = this.video.currentTime;
    if (!this.video.seeking && !this.video.paused && position <= this.furthest + 2) this.furthest = Math.max(this.furthest, position);
    this.seek.value = String(Math.floor(position));
    if (position >= this.lesson.duration_seconds) this.finish();
  }

  loseFocus() {
    this.focused = false;
    this.unfocused = true;
    if (this.session && !this.video.paused) {
      this.video.pause();
      this.focusPaused = true;
      this.say(t("study_paused_focus"), true);
    }
  }

  showControls() {
    const active = this.session && this.session.state === "SESSION_STATE_ACTIVE";
    const paused = this.session && this.session.state === "SESSION_STATE_PAUSED";
    this.button("start").hidden = Boolean(this.session);
    this.button("play").hidden = !active;
    this.button("pause").hidden = !active;
    this.button("resume-check").hidden = !paused;
    this.button("end").hidden = !this.session || this.session.state === "SESSION_STATE_ENDED";
  }

  async start() {
    this.button("start").disabled = true;
    try {
      const started = await api("POST", "/api/v1/study-sessions", {
        enrollment_id: this.enrollmentId, lesson_id: this.lesson.lesson_id, device_id: deviceId(),
        face_image: captureFrame(this.camera), client_time: new Date().toISOString(),
      });
      this.session = started.session;
      this.furthest = Math.min(this.session.resume_position_seconds, this.lesson.duration_seconds);
      if (this.furthest >= this.lesson.duration_seconds - 1) this.furthest = 0;  // studying a finished lesson again
      this.video.currentTime = this.furthest;
      this.verified = this.furthest;
      this.sequence = 0;
      this.unfocused = false;
      const interval = (this.session.heartbeat_interval_seconds || 10) * 1000;
      this.timer = setInterval(() => this.heartbeat(), interval);
      await this.heartbeat();  // the baseline
      this.say(t("study_started"));
      await this.play();
    } catch (error) {
      this.say(t("start_failed", { error: error.message }), true);
    } finally {
      this.button("start").disabled = !this.camera.videoWidth;
      this.showControls();
    }
  }

  async play() {
    if (!this.session || this.session.state !== "SESSION_STATE_ACTIVE") return;
    this.focusPaused = false;
    this.video.playbackRate = 1;
    await this.video.play().catch((error) => this.say(error.message, true));
  }

  // Heartbeats go one at a time, in sequence order.
  heartbeat() {
    this.beats = this.beats.then(() => this.beat());
    return this.beats;
  }

  async beat() {
    if (!this.session || this.session.state === "SESSION_STATE_ENDED") return;
    const focused = this.focused && !this.unfocused && document.visibilityState === "visible";
    this.unfocused = false;
    this.sequence += 1;
    const position = Math.min(this.video.currentTime, this.lesson.duration_seconds);
    try {
      const { ack } = await api("POST", `/api/v1/study-sessions/${this.session.session_id}/heartbeats`, {
        sequence: this.sequence, position_seconds: position,
        playback_rate: this.video.playbackRate, focused, client_time: new Date().toISOString(),
      });
      if (ack.verdict === "INTERVAL_VERDICT_BASELINE" || ack.verdict === "INTERVAL_VERDICT_PENDING") this.verified = position;
      this.apply(ack);
      if (ack.verdict === "INTERVAL_VERDICT_REJECTED" && REWATCH.has(ack.reason) && ack.state === "SESSION_STATE_ACTIVE") await this.rewind();
    } catch (error) { this.say(error.message, true); }
  }

  // What played unfocused, too fast or after a jump was not verified: watch it again from the last
  // verified point. The heartbeat at that point makes it the start of the next interval.
  async rewind() {
    if (this.video.currentTime <= this.verified + 0.5) return;
    const resume = !this.video.paused && !this.focusPaused;
    this.video.pause();
    this.furthest = this.verified;
    this.video.currentTime = this.verified;
    this.sequence += 1;
    const { ack } = await api("POST", `/api/v1/study-sessions/${this.session.session_id}/heartbeats`, {
      sequence: this.sequence, position_seconds: this.verified, playback_rate: 1,
      focused: this.focused, client_time: new Date().toISOString(),
    });
    this.apply(ack);
    if (resume) await this.play();
  }

  apply(ack) {
    Object.assign(this.session, {
      state: ack.state, state_reason: ack.state_reason, face_check: ack.face_check,
      pending_seconds: ack.pending_seconds, lesson_credited_seconds: ack.lesson_credited_seconds,
    });
    this.status.dataset.verdict = ack.verdict;
    this.status.dataset.reason = ack.reason;
    if (ack.state === "SESSION_STATE_PAUSED") this.paused();
    else if (ack.state === "SESSION_STATE_ENDED") this.stopped();
    else if (ack.face_check && ack.face_check.due) this.faceCheck();
    else if (!this.checking) this.say(t("study_active", { credited: Math.round(ack.lesson_credited_seconds), pending: Math.round(ack.pending_seconds) }));
    this.showControls();
  }

  paused() {
    this.video.pause();
    this.say(t("study_paused", { reason: this.session.state_reason }), true);
    this.showControls();
  }

  stopped() {
    clearInterval(this.timer);
    this.video.pause();
    this.showControls();
  }

  async faceCheck() {
    if (this.checking || !this.session) return;
    this.checking = true;
    this.status.dataset.check = "running";
    this.say(t("study_check_due"));
    try {
      const wasPaused = this.session.state === "SESSION_STATE_PAUSED";
      const result = await api("POST", `/api/v1/study-sessions/${this.session.session_id}/face-checks`, { face_image: captureFrame(this.camera) });
      this.session = result.session;
      this.status.dataset.check = result.passed ? "passed" : "failed";
      if (result.passed) {
        this.say(t("study_check_passed"));
        if (wasPaused && this.session.state === "SESSION_STATE_ACTIVE") {
          // Study resumes from the furthest credited point: what played while paused was not verified.
          this.furthest = this.session.resume_position_seconds;
          this.video.currentTime = this.furthest;
          await this.play();
        }
      } else {
        this.video.pause();
        this.say(t("study_check_failed", { outcome: result.outcome }), true);
      }
    } catch (error) {
      this.say(error.message, true);
    } finally {
      this.checking = false;
      this.showControls();
    }
  }

  async finish() {
    if (this.finishing || this.ending || !this.session || this.session.state !== "SESSION_STATE_ACTIVE") return;
    this.finishing = true;
    this.video.pause();
    await this.heartbeat();  // the last interval, up to the end of the lesson
    if (this.video.currentTime < this.lesson.duration_seconds - 0.5) {  // rewound: not finished yet
      this.finishing = false;
      await this.play();
      return;
    }
    await this.end();
    this.finishing = false;
    this.say(t("study_lesson_done") + " " + this.status.textContent);
  }

  async end() {
    if (this.ending || !this.session || this.session.state === "SESSION_STATE_ENDED") return;
    this.ending = true;
    clearInterval(this.timer);
    this.video.pause();
    try {
      const frame = this.camera.videoWidth ? captureFrame(this.camera) : "";
      const ended = await api("POST", `/api/v1/study-sessions/${this.session.session_id}/end`, { face_image: frame });
      this.session = ended.session;
      this.status.dataset.ended = "true";
      this.say(t("study_ended", { credited: Math.round(ended.session.lesson_credited_seconds) }));
    } catch (error) {
      this.say(error.message, true);
    } finally {
      this.ending = false;
      this.showControls();
    }
  }
}

/* ---------- exams ---------- */

async function renderExam(enrollmentId, examId) {
  const { exam } = await api("GET", `/api/v1/exams/${examId}`);
  view().innerHTML = `
    <h2>${t("exam_title", { title: esc(exam.title) })}</h2>
    <div id="exam-start" class="card camera">
      <p>${t("exam_kind_" + exam.kind)} · ${exam.question_count} · ${exam.time_limit_minutes} min</p>
      ${exam.face_check_at_start ? `<p>${t("exam_start_face")}</p><video id="exam-camera" autoplay muted playsinline aria-label="${t("face_camera")}"></video>` : ""}
      <button type="button" id="exam-begin">${t("start_exam")}</button>
    </div>
    <div id="exam-paper" hidden></div>`;
  const camera = document.getElementById("exam-camera");
  leaveView = async () => { closeCamera(); clearInterval(window.examTimer); document.removeEventListener("visibilitychange", window.examLeave); };
  if (camera) {
    try { await openCamera(camera); } catch (error) { notify(t("camera_denied", { error: error.message }), true); }
  }
  document.getElementById("exam-begin").addEventListener("click", async (event) => {
    event.target.disabled = true;
    try {
      const body = camera ? { face_image: captureFrame(camera) } : {};
      const started = await api("POST", `/api/v1/exams/${examId}/attempts`, body);
      closeCamera();
      showPaper(started);
    } catch (error) { fail(error); event.target.disabled = false; }
  });
}

function showPaper({ attempt, paper, answers }) {
  document.getElementById("exam-start").hidden = true;
  const box = document.getElementById("exam-paper");
  box.hidden = false;
  const saved = Object.fromEntries((answers || []).map((a) => [a.position, a.selected]));
  box.innerHTML = `
    <p class="row"><span>${t("exam_time_left")}:</span> <span class="countdown" id="countdown" role="timer" aria-live="off"></span>
      <span id="answered" class="muted"></span></p>
    <form id="paper">${paper.questions.map((q) => {
      const multiple = q.type === "QUESTION_TYPE_MULTIPLE_CHOICE";
      const chosen = new Set(saved[q.position] || []);
      return `<fieldset class="question" data-position="${q.position}"><legend>${q.position + 1}. ${esc(q.stem)} <span class="muted">(${q.points})</span></legend>
        ${q.options.map((option, index) => `<label class="row"><input type="${multiple ? "checkbox" : "radio"}" name="q${q.position}" value="${index}" ${chosen.has(index) ? "checked" : ""}> ${esc(option)}</label>`).join("")}
      </fieldset>`;
    }).join("")}
    <button type="submit" id="exam-submit">${t("exam_submit")}</button></form>
    <div id="exam-result" role="status" aria-live="polite"></div>`;
  const total = paper.questions.length;
  const countAnswered = () => {
    const n = paper.questions.filter((q) => box.querySelector(`input[name="q${q.position}"]:checked`)).length;
    document.getElementById("answered").textContent = t("exam_answered", { n, total });
  };
  countAnswered();
  const revisions = {};
  box.querySelector("#paper").addEventListener("change", async (event) => {
    const fieldset = event.target.closest("fieldset");
    const position = Number(fieldset.dataset.position);
    const selected = [...fieldset.querySelectorAll("input:checked")].map((input) => Number(input.value));
    revisions[position] = Math.max(Date.now(), (revisions[position] || 0) + 1);
    countAnswered();
    try {
      await api("PUT", `/api/v1/attempts/${attempt.attempt_id}/answers/${position}`, { selected, revision: revisions[position] });
      fieldset.dataset.saved = "true";
    } catch (error) { fail(error); }
  });
  const deadline = new Date(attempt.deadline).getTime();
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    document.getElementById("countdown").textContent = `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
    if (left === 0) submit();
  };
  tick();
  window.examTimer = setInterval(tick, 1000);
  window.examLeave = async () => {
    if (document.visibilityState !== "hidden") return;
    try {
      const left = await api("POST", `/api/v1/attempts/${attempt.attempt_id}/page-leaves`, { client_time: new Date().toISOString() });
      notify(t("exam_left_page"));
      if (left.submitted) showResult(left.attempt);
    } catch (error) { fail(error); }
  };
  document.addEventListener("visibilitychange", window.examLeave);
  let submitting = false;
  async function submit() {
    if (submitting) return;
    submitting = true;
    clearInterval(window.examTimer);
    try {
      const submitted = await api("POST", `/api/v1/attempts/${attempt.attempt_id}/submit`, {});
      showResult(submitted.attempt);
    } catch (error) { fail(error); submitting = false; }
  }
  box.querySelector("#paper").addEventListener("submit", (event) => { event.preventDefault(); submit(); });
}

function showResult(attempt) {
  clearInterval(window.examTimer);
  document.removeEventListener("visibilitychange", window.examLeave);
  for (const input of document.querySelectorAll("#paper input, #paper button")) input.disabled = true;
  const result = document.getElementById("exam-result");
  result.dataset.passed = String(attempt.passed);
  result.innerHTML = `<p class="${attempt.passed ? "ok" : "bad"}">${attempt.passed ? t("exam_passed") : t("exam_failed")}</p>
    <p>${t("exam_result", { score: attempt.score, max: attempt.max_points, pass: attempt.pass_mark })}</p>
    <p><a href="#/classes">${t("study_back")}</a> · <a href="#/certificates">${t("nav_certificates")}</a></p>`;
}

/* ---------- certificates ---------- */

async function renderCertificates() {
  const { user } = auth.get();
  const { certificates } = await api("GET", `/api/v1/certificates?trainee_id=${user.user_id}`);
  view().innerHTML = `<h2>${t("certificates_title")}</h2>` + (certificates.length ? certificates.map((c) => `
    <section class="card certificate" data-serial="${esc(c.serial_number)}">
      <h3>${esc(c.serial_number)}</h3>
      <dl>
        <dt>${t("status")}</dt><dd>${t("status_" + c.status)}</dd>
        <dt>${t("institution_name")}</dt><dd>${esc(c.institution_name)}</dd>
        <dt>${t("total_hours")}</dt><dd>${hours(c.total_hours)}</dd>
        <dt>${t("exam_score")}</dt><dd>${c.exam_score} / ${c.exam_max_points}</dd>
        <dt>${t("verification_code")}</dt><dd>${esc(c.verification_code)}</dd>
        <dt>${t("issue_date")}</dt><dd>${esc(c.issue_date)}</dd><dt>${t("valid_until")}</dt><dd>${esc(c.valid_until)}</dd>
      </dl>
      <p class="row"><button type="button" class="download" data-id="${esc(c.certificate_id)}">${t("download_pdf")}</button>
      <a class="verify" href="/verify?serial=${encodeURIComponent(c.serial_number)}&code=${encodeURIComponent(c.verification_code)}">${t("verify_link")}</a></p>
    </section>`).join("") : `<p>${t("no_certificates")}</p>`);
  for (const button of document.querySelectorAll("button.download")) {
    button.addEventListener("click", async () => {
      const response = await fetch(`/api/v1/certificates/${button.dataset.id}/pdf`, { headers: { Authorization: `Bearer ${auth.get().tokens.access_token}` } });
      if (!response.ok) { fail(new ApiError(await response.json().catch(() => ({})), response.status)); return; }
      const name = (response.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = name ? name[1] : "certificate.pdf";
      document.body.append(link);
      link.click();
      link.remove();
    });
  }
}

/* ---------- start ---------- */

document.addEventListener("DOMContentLoaded", () => {
  applyTexts();
  document.getElementById("lang").addEventListener("click", () => toggleLang(route));
  document.getElementById("logout").addEventListener("click", async () => {
    const session = auth.get();
    if (session) await api("POST", "/api/v1/sessions/logout", { refresh_token: session.tokens.refresh_token }).catch(() => {});
    auth.set(null);
    location.hash = "#/login";
  });
  window.addEventListener("hashchange", route);
  route();
});
