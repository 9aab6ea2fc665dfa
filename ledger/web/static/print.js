// The printable version opens the browser's print dialogue once the page (and its QR code) is in.
window.addEventListener("load", () => { if (!navigator.webdriver) window.print(); });
