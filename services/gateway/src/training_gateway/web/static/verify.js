/* The public verification page: by serial number and verification code, or by the signed token the
 * certificate's QR code carries (/verify?t=<token>). No account needed; the gateway rate-limits it. */
"use strict";

let lastVerification = null;

function show(verification) {
  lastVerification = verification;
  const box = document.getElementById("result");
  const result = verification.result;
  const cert = verification.certificate;
  box.dataset.result = result.replace("VERIFICATION_RESULT_", "");
  const good = result === "VERIFICATION_RESULT_VALID";
  box.innerHTML = `<h2 class="${good ? "ok" : "bad"}">${t("result_" + result)}</h2>` + (cert ? `
    <dl>
      <dt>${t("serial")}</dt><dd class="serial">${esc(cert.serial_number)}</dd>
      <dt>${t("trainee_name")}</dt><dd>${esc(cert.trainee_name)}</dd>
      <dt>${t("national_id")}</dt><dd>${esc(cert.trainee_national_id)}</dd>
      <dt>${t("institution_name")}</dt><dd>${esc(cert.institution_name)}</dd>
      <dt>${t("total_hours")}</dt><dd>${cert.total_hours}</dd>
      <dt>${t("exam_score")}</dt><dd>${cert.exam_score}</dd>
      <dt>${t("issue_date")}</dt><dd>${esc(cert.issue_date)}</dd>
      <dt>${t("valid_until")}</dt><dd>${esc(cert.valid_until)}</dd>
      ${verification.revoked_at ? `<dt>${t("revoked_at")}</dt><dd>${esc(new Date(verification.revoked_at).toLocaleString())}</dd>
      <dt>${t("revocation_reason")}</dt><dd>${esc(verification.revocation_reason)}</dd>` : ""}
    </dl>` : "");
}

async function verify(url) {
  const box = document.getElementById("result");
  box.textContent = t("loading");
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    box.dataset.result = "ERROR";
    box.innerHTML = `<p class="bad">${esc(t("error", { error: data.detail || response.status }))}</p>`;
    return;
  }
  show(data.verification);
}

document.addEventListener("DOMContentLoaded", () => {
  applyTexts();
  document.getElementById("lang").addEventListener("click", () => toggleLang(() => lastVerification && show(lastVerification)));
  const params = new URLSearchParams(location.search);
  const form = document.getElementById("verify-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const query = new URLSearchParams({ serial_number: data.get("serial"), verification_code: data.get("code") });
    verify(`/api/v1/public/certificates/verification?${query}`);
  });
  if (params.get("t")) verify(`/api/v1/public/certificates/token-verification?${new URLSearchParams({ token: params.get("t") })}`);
  else if (params.get("serial") && params.get("code")) {
    form.serial.value = params.get("serial");
    form.code.value = params.get("code");
    form.requestSubmit();
  }
});
