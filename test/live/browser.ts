import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * A real browser for the dashboard tests: Debian's headless Chromium
 * (`apt-get install chromium`, which .ci/run does), driven by playwright-core,
 * with a fresh profile per launch. npm's own browser downloads cannot reach
 * their hosts here, so the executable is the system one.
 */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Where screenshots go: REWARDD_TEST_ARTIFACTS, or <tmpdir>/rewardd-test-artifacts. */
export const ARTIFACTS = process.env.REWARDD_TEST_ARTIFACTS ?? join(tmpdir(), 'rewardd-test-artifacts');

export interface Browser {
  context: BrowserContext;
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1400, height: 1000 }): Promise<Browser> {
  if (!existsSync(CHROMIUM_BIN)) throw new Error(`expected Chromium at ${CHROMIUM_BIN} (apt-get install -y chromium, as .ci/run does), found none`);
  const profile = mkdtempSync(join(tmpdir(), 'rewardd-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_BIN, headless: true, args: CHROMIUM_FLAGS, viewport });
  return {
    context,
    page: async () => {
      const p = await context.newPage();
      p.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
      return p;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
