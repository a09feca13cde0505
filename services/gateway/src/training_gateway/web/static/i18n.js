/* Chinese and English texts of the web app and the verification page. t("key", {name: value}). */
"use strict";

const TEXTS = {
  zh: {
    skip: "跳到正文", app_title: "安全生产在线培训", nav_classes: "我的班级", nav_face: "人脸采集",
    nav_certificates: "学时证明", nav_verify: "证书查验", logout: "退出", lang_other: "English",
    login_title: "登录", login_name: "身份证号、手机号或用户名", password: "密码", login: "登录",
    no_account: "还没有账号？", register_link: "实名注册",
    register_title: "实名注册", display_name: "真实姓名", national_id: "身份证号", phone: "手机号",
    employer_name: "工作单位名称", employer_code: "统一社会信用代码", register: "注册",
    registered: "注册成功，请登录。",
    face_title: "人脸采集", face_consent_text: "为核验本人参加培训，平台将在学习和考试期间采集并比对您的人脸照片。照片加密保存，保存期限 {days} 天，您可以随时撤回同意并删除人脸数据。",
    face_consent_check: "我已阅读并单独同意人脸信息处理", face_consent_button: "同意", face_consented: "已同意人脸信息处理（{at}）",
    face_camera: "摄像头画面", face_enroll: "拍照并采集人脸", face_enrolled: "已采集人脸（{at}）",
    face_not_enrolled: "尚未采集人脸。学习前必须先采集。", face_enrolled_ok: "人脸采集成功。", face_go_classes: "去学习",
    camera_denied: "无法打开摄像头：{error}",
    classes_title: "我的班级", no_classes: "您还没有加入任何班级。", class_hours: "学时：{credited} / {required}",
    state_STUDYING: "学习中", state_FROZEN: "学时冻结（待机构审核）", state_COMPLETED: "已完成",
    topic: "科目", required: "要求学时", credited: "已获学时", credited_time: "已获时长", lessons: "课程章节", lesson: "章节",
    duration: "时长", progress: "进度", study: "学习", finished: "已完成", withdrawn: "已下架",
    exams: "考试", start_exam: "开始考试", exam_kind_EXAM_KIND_PRACTICE: "练习", exam_kind_EXAM_KIND_MOCK: "模拟考试",
    exam_kind_EXAM_KIND_FINAL: "结业考试", exam_needs_completion: "完成全部学时后才能参加结业考试。",
    study_title: "学习：{lesson}", study_start: "人脸核验并开始学习", study_play: "继续播放", study_pause: "暂停",
    study_end: "结束学习", study_position: "播放位置", study_camera: "人脸监控画面",
    study_active: "学习中：本章节已获 {credited} 秒，待核验 {pending} 秒。", study_started: "人脸核验通过，开始学习。",
    study_paused_focus: "窗口失去焦点，已暂停播放。回到本页后点击“继续播放”。",
    study_no_seek: "不能跳过尚未学习的内容。", study_check_due: "请正对摄像头：正在进行随机人脸核验……",
    study_check_passed: "随机人脸核验通过。", study_check_failed: "人脸核验未通过（{outcome}），学习已暂停。",
    study_paused: "学习已暂停（{reason}）。请进行人脸核验后继续。", study_resume_check: "人脸核验并继续",
    study_ended: "本次学习结束。本章节已获 {credited} 秒。", study_lesson_done: "本章节已学完。",
    study_back: "返回班级", start_failed: "未能开始学习：{error}",
    exam_title: "考试：{title}", exam_time_left: "剩余时间", exam_submit: "交卷", exam_confirm: "确定交卷吗？",
    exam_result: "成绩：{score} / {max}（及格线 {pass}）", exam_passed: "考试通过", exam_failed: "考试未通过",
    exam_answered: "已答 {n} / {total} 题", exam_start_face: "开考前进行人脸核验", exam_left_page: "已记录离开考试页面。",
    certificates_title: "学时证明", no_certificates: "还没有学时证明。完成学时并通过结业考试后自动颁发。",
    serial: "证书编号", verification_code: "查验码", issue_date: "颁发日期", valid_until: "有效期至",
    download_pdf: "下载 PDF", verify_link: "查验页面", status: "状态",
    status_CERTIFICATE_STATUS_VALID: "有效", status_CERTIFICATE_STATUS_REVOKED: "已撤销",
    verify_title: "学时证明查验", verify_intro: "输入证书上的编号和查验码，或扫描证书上的二维码。", verify_button: "查验",
    result_VERIFICATION_RESULT_VALID: "证书有效", result_VERIFICATION_RESULT_REVOKED: "证书已撤销",
    result_VERIFICATION_RESULT_TAMPERED: "证书内容被篡改", result_VERIFICATION_RESULT_UNKNOWN: "查无此证书",
    result_VERIFICATION_RESULT_RETENTION_ENDED: "证书保存期满，持证人信息已删除",
    trainee_name: "学员姓名", institution_name: "培训机构", total_hours: "总学时", exam_score: "考试成绩",
    revoked_at: "撤销时间", revocation_reason: "撤销原因", qualification: "培训类别",
    error: "出错了：{error}", loading: "加载中……",
  },
  en: {
    skip: "Skip to content", app_title: "Work-safety online training", nav_classes: "My classes", nav_face: "Face enrollment",
    nav_certificates: "Certificates", nav_verify: "Verify a certificate", logout: "Sign out", lang_other: "中文",
    login_title: "Sign in", login_name: "ID number, mobile number or username", password: "Password", login: "Sign in",
    no_account: "No account yet?", register_link: "Register under your real name",
    register_title: "Register under your real name", display_name: "Real name", national_id: "Resident ID number",
    phone: "Mobile number", employer_name: "Employer", employer_code: "Employer's unified social credit code",
    register: "Register", registered: "Registered. Please sign in.",
    face_title: "Face enrollment", face_consent_text: "To verify that you are the one training, the platform takes and compares photos of your face while you study and sit exams. Photos are stored encrypted for {days} days; you may withdraw consent and delete your face data at any time.",
    face_consent_check: "I have read this and separately consent to the processing of my face data", face_consent_button: "I agree",
    face_consented: "Consent to face processing recorded ({at})", face_camera: "Camera", face_enroll: "Take a photo and enroll",
    face_enrolled: "Face enrolled ({at})", face_not_enrolled: "No face enrolled yet. Enroll before studying.",
    face_enrolled_ok: "Your face is enrolled.", face_go_classes: "Go to my classes", camera_denied: "The camera could not be opened: {error}",
    classes_title: "My classes", no_classes: "You are not enrolled in any class yet.", class_hours: "Hours: {credited} / {required}",
    state_STUDYING: "Studying", state_FROZEN: "Hours frozen (pending the institution's review)", state_COMPLETED: "Completed",
    topic: "Topic", required: "Required hours", credited: "Credited hours", credited_time: "Credited time", lessons: "Lessons", lesson: "Lesson",
    duration: "Duration", progress: "Progress", study: "Study", finished: "Finished", withdrawn: "Withdrawn",
    exams: "Exams", start_exam: "Start", exam_kind_EXAM_KIND_PRACTICE: "Practice", exam_kind_EXAM_KIND_MOCK: "Mock exam",
    exam_kind_EXAM_KIND_FINAL: "Final exam", exam_needs_completion: "The final exam opens once every hour is credited.",
    study_title: "Studying: {lesson}", study_start: "Verify my face and start", study_play: "Play", study_pause: "Pause",
    study_end: "End study", study_position: "Position", study_camera: "Face monitoring camera",
    study_active: "Studying: {credited} s of this lesson credited, {pending} s awaiting the next face check.",
    study_started: "Face check passed; study started.",
    study_paused_focus: "The window lost focus, so playback paused. Come back and press Play.",
    study_no_seek: "You cannot skip ahead of what you have watched.", study_check_due: "Look at the camera: random face check in progress…",
    study_check_passed: "Random face check passed.", study_check_failed: "Face check failed ({outcome}); study is paused.",
    study_paused: "Study is paused ({reason}). Verify your face to continue.", study_resume_check: "Verify my face and continue",
    study_ended: "Study session ended. {credited} s of this lesson credited.", study_lesson_done: "Lesson finished.",
    study_back: "Back to my classes", start_failed: "Study could not start: {error}",
    exam_title: "Exam: {title}", exam_time_left: "Time left", exam_submit: "Submit", exam_confirm: "Submit your answers?",
    exam_result: "Score: {score} / {max} (pass mark {pass})", exam_passed: "Passed", exam_failed: "Not passed",
    exam_answered: "{n} of {total} answered", exam_start_face: "Face check before the exam", exam_left_page: "Leaving the exam page was recorded.",
    certificates_title: "Training-hour certificates", no_certificates: "No certificates yet. One is issued when your hours are complete and you pass the final exam.",
    serial: "Serial number", verification_code: "Verification code", issue_date: "Issued", valid_until: "Valid until",
    download_pdf: "Download PDF", verify_link: "Verification page", status: "Status",
    status_CERTIFICATE_STATUS_VALID: "Valid", status_CERTIFICATE_STATUS_REVOKED: "Revoked",
    verify_title: "Verify a training-hour certificate", verify_intro: "Enter the serial number and verification code printed on the certificate, or scan its QR code.",
    verify_button: "Verify", result_VERIFICATION_RESULT_VALID: "Valid certificate", result_VERIFICATION_RESULT_REVOKED: "Revoked certificate",
    result_VERIFICATION_RESULT_TAMPERED: "Tampered certificate", result_VERIFICATION_RESULT_UNKNOWN: "No such certificate",
    result_VERIFICATION_RESULT_RETENTION_ENDED: "Retention ended: the holder's data was erased",
    trainee_name: "Trainee", institution_name: "Institution", total_hours: "Total hours", exam_score: "Exam score",
    revoked_at: "Revoked at", revocation_reason: "Reason", qualification: "Qualification",
    error: "Something went wrong: {error}", loading: "Loading…",
  },
};

function currentLang() {
  const stored = localStorage.getItem("lang");
  if (stored === "zh" || stored === "en") return stored;
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function t(key, params) {
  const lang = currentLang();
  let text = (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.zh[key] || key;
  for (const [name, value] of Object.entries(params || {})) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

function applyTexts(root) {
  document.documentElement.lang = currentLang() === "zh" ? "zh-CN" : "en";
  for (const el of (root || document).querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const toggle = document.getElementById("lang");
  if (toggle) toggle.textContent = t("lang_other");
}

function toggleLang(render) {
  localStorage.setItem("lang", currentLang() === "zh" ? "en" : "zh");
  applyTexts();
  render();
}

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
