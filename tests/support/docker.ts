import { execFileSync } from 'node:child_process';

function daemonAnswers(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export const dockerAvailable = daemonAnswers();
/** CI sets DIB_REQUIRE_DOCKER=1: a Docker test must then fail, not skip, when the daemon is missing. */
export const dockerRequired = process.env.DIB_REQUIRE_DOCKER === '1';
/** Use as `describe.skipIf(skipWithoutDocker)`. */
export const skipWithoutDocker = !dockerAvailable && !dockerRequired;

export const TEST_BASE_IMAGE = process.env.DIB_TEST_BASE_IMAGE ?? 'dib-test/debian:bookworm';
export const TEST_PIP_IMAGE = process.env.DIB_TEST_PIP_IMAGE ?? 'dib-test/python-pip:bookworm';
export const TEST_TORCH_BASE_IMAGE = process.env.DIB_TEST_TORCH_BASE_IMAGE ?? 'dib-test/debian:trixie';
export const TEST_TORCH_IMAGE = process.env.DIB_TEST_TORCH_IMAGE ?? 'dib-test/torch-cpu:trixie';
