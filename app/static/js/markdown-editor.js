// Markdown fields (textarea[data-markdown-editor]) become EasyMDE editors with a toolbar and a
// preview rendered by the server (the same Markdown and sanitising readers get). Without
// JavaScript, or when EasyMDE did not load, they stay plain textareas.
(() => {
  "use strict";
  const config = document.getElementById("markdown-editor-config");
  if (!config || typeof window.EasyMDE !== "function") return;
  const labels = JSON.parse(config.dataset.labels || "{}");
  const previewUrl = config.dataset.previewUrl;

  function csrfToken(textarea) {
    const form = textarea.form;
    const input = form && form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function serverPreview(textarea) {
    let pending = 0;
    return (text, preview) => {
      const mine = ++pending;
      const body = new URLSearchParams({ text });
      fetch(previewUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(textarea) },
      })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((html) => {
          if (mine === pending) preview.innerHTML = html; // already sanitised by the server
        })
        .catch(() => {
          if (mine === pending) preview.textContent = labels.previewFailed || "";
        });
      return labels.loading || "…";
    };
  }

  function button(name, action, text, extra) {
    return { name, action, text, title: labels[name] || name, ...extra };
  }

  document.querySelectorAll("textarea[data-markdown-editor]").forEach((textarea) => {
    const E = window.EasyMDE;
    const editor = new E({
      element: textarea,
      autoDownloadFontAwesome: false, // no CDN: the buttons carry text instead of icons
      spellChecker: false, // it would fetch dictionaries from a CDN
      forceSync: true,
      status: false,
      minHeight: "14rem",
      previewClass: ["editor-preview", "news-body"],
      previewRender: serverPreview(textarea),
      // Images dropped, pasted or chosen go to our storage (POST, with the form's CSRF token);
      // the answer is the image's public address, put into the text as Markdown.
      uploadImage: Boolean(config.dataset.imageUrl),
      imageUploadEndpoint: config.dataset.imageUrl,
      imagePathAbsolute: true,
      imageAccept: "image/png, image/jpeg, image/gif, image/webp",
      imageMaxSize: 5 * 1024 * 1024,
      imageCSRFName: "csrf_token",
      imageCSRFToken: csrfToken(textarea),
      imageTexts: labels.imageTexts,
      errorMessages: labels.imageErrors,
      errorCallback: (message) => window.alert(message),
      toolbar: [
        button("bold", E.toggleBold, "B"),
        button("italic", E.toggleItalic, "I"),
        button("heading", E.toggleHeadingSmaller, "H"),
        "|",
        button("quote", E.toggleBlockquote, "❝"),
        button("unordered-list", E.toggleUnorderedList, "•"),
        button("ordered-list", E.toggleOrderedList, "1."),
        "|",
        button("link", E.drawLink, "↗"),
        button("image", E.drawImage, "▣"),
        button("upload-image", E.drawUploadedImage, "⇪"),
        "|",
        // Stays usable while previewing (the other buttons are disabled then).
        button("preview", E.togglePreview, labels.previewText || "👁", { noDisable: true }),
      ],
    });
    // A button's accessible name contains its visible text (WCAG 2.5.3): "1." for numbered lists.
    editor.toolbarElements?.["ordered-list"]?.setAttribute("aria-label", `1. ${labels["ordered-list"] || ""}`.trim());
    // The label of the original textarea names the editor for screen readers.
    const field = editor.codemirror.getInputField();
    if (textarea.id) {
      const label = document.querySelector(`label[for="${textarea.id}"]`);
      if (label) field.setAttribute("aria-label", label.textContent.trim());
    }
    textarea.dataset.markdownEditorReady = "1";
  });
})();
