/** Clipboard write with a fallback for contexts without the async Clipboard API. */
export async function copyText(s: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(s);
    return;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = s;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

declare global {
  interface Window {
    /** Desktop only (preload): the filesystem path of a dropped File. */
    wirefallFiles?: { pathForFile(file: File): string };
  }
}
