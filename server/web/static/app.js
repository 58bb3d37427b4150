// Portal behaviour shared by every page: forms and buttons talk JSON (or multipart) to the REST
// API; a refusal is shown beside the field it names and nothing typed is lost.
(function () {
  "use strict";

  function fill(template, data) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return data && data[key] !== undefined && data[key] !== null ? encodeURIComponent(data[key]) : "";
    });
  }

  function send(method, url, body, onProgress) {
    // XMLHttpRequest rather than fetch: it reports upload progress for large files.
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Accept", "application/json");
      if (!(body instanceof FormData) && body !== null) xhr.setRequestHeader("Content-Type", "application/json");
      if (onProgress && xhr.upload) xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {message: "服务器返回了无法识别的内容"}; }
        resolve({ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data: data || {}});
      };
      xhr.onerror = function () { resolve({ok: false, status: 0, data: {message: "网络错误，请检查连接后重试"}}); };
      xhr.send(body instanceof FormData ? body : (body === null ? null : JSON.stringify(body)));
    });
  }

  function collect(form) {
    if (form.enctype === "multipart/form-data") return new FormData(form);
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "submit" || el.type === "button") return;
      var value;
      if (el.type === "checkbox") {
        if (el.hasAttribute("data-array")) {
          body[el.name] = body[el.name] || [];
          if (el.checked) body[el.name].push(el.value);
          return;
        }
        value = el.checked;
      } else if (el.type === "radio") {
        if (!el.checked) return;
        value = el.value;
      } else if (el.multiple) {
        value = Array.prototype.filter.call(el.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
      } else if (el.type === "number" || el.getAttribute("data-type") === "int" || el.getAttribute("data-type") === "number") {
        value = el.value === "" ? null : Number(el.value);
      } else {
        value = el.value;
      }
      body[el.name] = value;
    });
    return body;
  }

  function clearErrors(form) {
    form.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    form.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    var box = form.querySelector(".form-error");
    if (box) box.textContent = "";
  }

  function showError(form, data) {
    // The reason is shown once: beside the field it names when the form has that field, otherwise in
    // the form's banner with the field's Chinese name in front (the API's `field` is never shown).
    var box = form.querySelector(".form-error");
    var message = data.message || "操作失败";
    var input = data.field ? form.querySelector('[name="' + data.field + '"]') : null;
    if (input && input.type !== "hidden") {
      input.classList.add("invalid");
      var note = document.createElement("span");
      note.className = "field-error";
      note.textContent = message;
      input.insertAdjacentElement("afterend", note);
      input.focus();
      return;
    }
    if (box) box.textContent = refusal(data); else window.alert(refusal(data));
  }

  function refusal(data) {
    var message = (data && data.message) || "操作失败";
    return data && data.field_label ? data.field_label + "：" + message : message;
  }

  function render(container, data) {
    if (!container) return;
    container.querySelectorAll("[data-key]").forEach(function (el) {
      var v = data[el.getAttribute("data-key")];
      el.textContent = v === undefined || v === null ? "" : v;
    });
    container.querySelectorAll("[data-list]").forEach(function (tbody) {
      var rows = data[tbody.getAttribute("data-list")] || [];
      var columns = (tbody.getAttribute("data-columns") || "").split(",");
      tbody.innerHTML = "";
      rows.forEach(function (row) {
        var tr = document.createElement("tr");
        columns.forEach(function (c) {
          var td = document.createElement("td");
          td.textContent = row[c] === undefined || row[c] === null ? "" : row[c];
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
    });
    container.hidden = false;
  }

  function after(origin, data) {
    var then = origin.getAttribute("data-then") || "reload";
    var result = origin.getAttribute("data-result");
    if (result) render(document.querySelector(result), data);
    // What the done action makes untrue leaves the page with it (data-done-hide / data-done-show), and a
    // button whose work is done becomes its outcome (data-done-text), so no reload is needed to see it.
    var hide = origin.getAttribute("data-done-hide");
    if (hide) document.querySelectorAll(hide).forEach(function (el) { el.hidden = true; });
    var show = origin.getAttribute("data-done-show");
    if (show) document.querySelectorAll(show).forEach(function (el) { el.hidden = false; });
    var doneText = origin.getAttribute("data-done-text");
    if (doneText) {
      var tag = document.createElement("span");
      tag.className = "tag ok";
      tag.textContent = doneText;
      origin.replaceWith(tag);
    }
    if (then === "reload") window.location.reload();
    else if (then.charAt(0) === "/") window.location.assign(fill(then, data));
  }

  function askDate(question, initial) {
    // A date asked for one action: a dialog with a date field (the browser's own picker), not prompt().
    return new Promise(function (resolve) {
      var dialog = document.createElement("dialog");
      dialog.className = "ask-date";
      dialog.innerHTML = '<form method="dialog"><label><span></span> <input type="date" name="answer" required></label>' +
        '<p class="form-error" role="alert"></p><p class="actions"><button type="submit">确定</button> ' +
        '<button type="button" class="secondary" data-cancel>取消</button></p></form>';
      dialog.querySelector("label span").textContent = question;
      var input = dialog.querySelector("input");
      input.value = initial || "";
      var answer = null;
      dialog.querySelector("form").addEventListener("submit", function (e) {
        if (!input.value) { e.preventDefault(); dialog.querySelector(".form-error").textContent = "请选择日期"; return; }
        answer = input.value;
      });
      dialog.querySelector("[data-cancel]").addEventListener("click", function () { dialog.close(); });
      dialog.addEventListener("close", function () { dialog.remove(); resolve(answer); });
      document.body.appendChild(dialog);
      dialog.showModal();
      input.focus();
    });
  }

  function poll(url, progress, label) {
    // Long work (large imports) runs on the server; its job address reports progress until done.
    return new Promise(function (resolve) {
      (function tick() {
        send("GET", url, null).then(function (r) {
          if (!r.ok) return resolve(r);
          var d = r.data;
          if (progress && d.total) { progress.max = d.total; progress.value = d.done || 0; }
          if (label) label.textContent = (d.done || 0) + " / " + (d.total || "?");
          // A file the worker found unusable is shown like a refusal at upload, next to its field.
          if (d.state === "failed" && d.field) return resolve({ ok: false, data: d });
          if (d.state === "done" || d.state === "failed") return resolve(r);
          window.setTimeout(tick, 400);
        });
      })();
    });
  }

  function mismatch(form) {
    // A field typed twice (确认新密码) is compared here first; the API checks it again.
    var bad = null;
    form.querySelectorAll("[data-same-as]").forEach(function (el) {
      var first = form.querySelector('[name="' + el.getAttribute("data-same-as") + '"]');
      if (!bad && first && first.value !== el.value) bad = {field: el.name, message: "两次输入的新密码不一致"};
    });
    return bad;
  }

  function submitForm(form) {
    clearErrors(form);
    var differs = mismatch(form);
    if (differs) { showError(form, differs); return; }
    var button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    var progress = form.querySelector("progress");
    var label = form.querySelector(".progress-label");
    var url = form.getAttribute("data-api");
    var method = form.getAttribute("data-method") || "POST";
    var body = collect(form);
    send(method, url, body, function (loaded, total) {
      if (progress) { progress.hidden = false; progress.max = total; progress.value = loaded; }
      if (label) label.textContent = "上传 " + Math.round(100 * loaded / total) + "%";
    }).then(function (r) {
      if (r.ok && r.data.job_url) return poll(r.data.job_url, progress, label);
      return r;
    }).then(function (r) {
      if (button) button.disabled = false;
      if (!r.ok) {
        showError(form, r.data);
        if (form.hasAttribute("data-captcha")) loadCaptcha(form);
        return;
      }
      after(form, r.data);
    });
  }

  function clickButton(button) {
    var message = button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) return;
    var body = {};
    try { body = JSON.parse(button.getAttribute("data-body") || "{}"); } catch (e) { body = {}; }
    var ask = button.getAttribute("data-prompt");
    var field = button.getAttribute("data-prompt-field") || "value";
    var initial = button.getAttribute("data-prompt-default") || "";
    var answered;
    if (!ask) answered = Promise.resolve(body);
    else if (button.getAttribute("data-prompt-type") === "date") {
      answered = askDate(ask, initial).then(function (answer) {
        if (answer === null) return null;
        body[field] = answer;
        return body;
      });
    } else {
      var answer = window.prompt(ask, initial);
      if (answer === null) return;
      body[field] = answer;
      answered = Promise.resolve(body);
    }
    answered.then(function (body) {
      if (body === null) return;
      button.disabled = true;
      send(button.getAttribute("data-method") || "POST", button.getAttribute("data-api"), body).then(function (r) {
        button.disabled = false;
        if (!r.ok) { window.alert(refusal(r.data)); return; }
        after(button, r.data);
      });
    });
  }

  function loadCaptcha(form) {
    var img = form.querySelector("img.captcha");
    send("GET", "/api/captcha", null).then(function (r) {
      if (!r.ok) return;
      form.querySelector('[name="captcha_id"]').value = r.data.id;
      img.src = r.data.image;
      var input = form.querySelector('[name="captcha"]');
      if (input) input.value = "";
    });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.hasAttribute("data-api")) { e.preventDefault(); submitForm(form); }
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-api]");
    if (button && !button.form) { e.preventDefault(); clickButton(button); }
    if (e.target.matches("img.captcha")) loadCaptcha(e.target.closest("form"));
    if (e.target.id === "logout") {
      send("POST", "/api/logout", {}).then(function () { window.location.assign("/login"); });
    }
  });
  document.querySelectorAll("form[data-captcha]").forEach(loadCaptcha);
})();
