// MediGate web app: progress for uploads; everything else works without script.
"use strict";

function showUploadProgress(form) {
  const status = document.getElementById("upload-status");
  const phase = document.getElementById("upload-phase");
  const bar = document.getElementById("upload-progress");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("x-medigate-progress", "ndjson");
    status.hidden = false;
    phase.textContent = "Uploading";
    request.upload.addEventListener("progress", (sent) => {
      if (sent.lengthComputable) bar.value = Math.round((100 * sent.loaded) / sent.total);
    });
    let read = 0;
    let last = null;
    const readLines = () => {
      const text = request.responseText;
      const complete = text.lastIndexOf("\n") + 1;
      for (const line of text.slice(read, complete).split("\n")) {
        if (!line.trim()) continue;
        last = JSON.parse(line);
        if (last.progress) {
          const { phase: name, done, total } = last.progress;
          phase.textContent = name.charAt(0).toUpperCase() + name.slice(1) + ": " + done + " of " + total + " records";
          bar.value = total ? Math.round((100 * done) / total) : 100;
        }
      }
      read = complete;
    };
    request.addEventListener("progress", readLines);
    request.addEventListener("load", () => {
      readLines();
      if (request.status !== 200) {
        const page = new DOMParser().parseFromString(request.responseText, "text/html");
        const problem = page.querySelector("[role=alert]");
        phase.textContent = problem ? problem.textContent : "The upload failed (" + request.status + ").";
        phase.className = "error";
        return;
      }
      if (last && last.result) {
        const result = last.result;
        phase.textContent = result.already_imported
          ? "This file was imported before; nothing changed."
          : "Imported " + result.records + " records.";
        bar.value = 100;
        const link = document.createElement("a");
        link.href = "/app";
        link.textContent = "See your records";
        status.append(" ", link);
      } else if (last && last.error) {
        phase.textContent = last.message;
        phase.className = "error";
      }
    });
    request.addEventListener("error", () => {
      phase.textContent = "The gateway could not be reached.";
      phase.className = "error";
    });
    request.send(new FormData(form));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const upload = document.getElementById("upload");
  if (upload) showUploadProgress(upload);
});
