/**
 * The hook for the vision work (issue 15): hidden until a frame arrives on
 * `<robot>/camera/<name>` (JPEG or PNG) or the live snapshot carries a VLM
 * field (an observation named `vlm_*`). Bound: MAX_CAMERAS images, one frame
 * each (the previous object URL is revoked when the next frame comes).
 */
export const MAX_CAMERAS = 4;

export class CameraPanel {
  private readonly images = new Map<string, { img: HTMLImageElement; url: string }>();
  frames = 0;

  constructor(private readonly panel: HTMLElement, private readonly box: HTMLElement, private readonly vlm: HTMLElement) {}

  frame(name: string, payload: Uint8Array): void {
    let cam = this.images.get(name);
    if (!cam) {
      if (this.images.size >= MAX_CAMERAS) return;
      const img = document.createElement('img');
      img.alt = `camera ${name}`;
      img.dataset.camera = name;
      this.box.append(img);
      cam = { img, url: '' };
      this.images.set(name, cam);
    }
    const png = payload[0] === 0x89 && payload[1] === 0x50;
    const url = URL.createObjectURL(new Blob([new Uint8Array(payload)], { type: png ? 'image/png' : 'image/jpeg' }));
    if (cam.url) URL.revokeObjectURL(cam.url);
    cam.url = url;
    cam.img.src = url;
    this.frames++;
    this.panel.classList.remove('hidden');
  }

  live(snapshot: { obs?: Record<string, number> }): void {
    const vlm = Object.entries(snapshot.obs ?? {}).filter(([k]) => k.startsWith('vlm_'));
    if (vlm.length === 0) return;
    this.vlm.textContent = vlm.map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(' · ');
    this.panel.classList.remove('hidden');
  }
}
