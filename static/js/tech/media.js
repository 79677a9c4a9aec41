// The signature pad (a <canvas> the customer signs with a finger) and photos shrunk on
// the phone before they are queued (a camera's 4 MB picture becomes a JPEG of a few
// hundred kB, small enough to wait in the queue and go in one request).

const PHOTO_EDGE = 1280;

/** Make a canvas a signature pad; returns {clear(), empty(), png()}. */
export function signaturePad(canvas) {
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let marks = 0;
  const reset = () => {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111827";
    marks = 0;
  };
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (canvas.width / box.width),
            (event.clientY - box.top) * (canvas.height / box.height)];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = point(event);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y + 0.1);
    ctx.stroke();
    marks += 1;
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) { return; }
    const [x, y] = point(event);
    ctx.lineTo(x, y);
    ctx.stroke();
    marks += 1;
    event.preventDefault();
  });
  const stop = () => { drawing = false; };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  reset();
  return { clear: reset, empty: () => marks < 3, png: () => canvas.toDataURL("image/png") };
}

/** A picked image file as a JPEG data URL, at most PHOTO_EDGE pixels on its long edge. */
export async function shrinkPhoto(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, PHOTO_EDGE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  if (bitmap.close) { bitmap.close(); }
  return canvas.toDataURL("image/jpeg", 0.8);
}
