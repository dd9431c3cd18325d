// Before a CodeBuild build spends money, a client that supports elicitation is asked, with the figures. The client
// here is the SDK's own Client over stdio, declaring elicitation as Claude Code, VS Code, Cursor and opencode do;
// CodeBuild and S3 are the project's emulator behind the real AWS SDK.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulatorHandle } from '../support/aws-emulator/index.js';
import { makeContext, tempDir } from '../support/build-fixtures.js';
import { builtServer } from '../support/mcp-client.js';

const PROJECT = 'pytorch-fsdp';

describe('charge confirmation before a CodeBuild build', () => {
  let aws: AwsEmulatorHandle;
  let client: Client;
  const asked: ElicitRequest['params'][] = [];
  let answer: ElicitResult = { action: 'decline' };

  beforeAll(async () => {
    aws = await startAwsEmulator({
      projects: [{ name: PROJECT, environment: { computeType: 'BUILD_GENERAL1_MEDIUM', privilegedMode: true } }],
    });
    client = new Client({ name: 'dib-e2e-elicitation', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return answer;
    });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [builtServer],
        env: {
          ...(process.env as Record<string, string>),
          ...aws.env,
          AWS_EC2_METADATA_DISABLED: 'true',
          // No Docker here: detection falls back to CodeBuild.
          DOCKER_HOST: 'unix:///nonexistent/docker.sock',
          DIB_STATE_DIR: await tempDir('charges-state'),
          HOME: await tempDir('charges-home'),
        },
        stderr: 'pipe',
      }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await aws?.stop();
  });

  it('a decline uploads nothing, starts nothing, and says so', async () => {
    answer = { action: 'decline' };
    const context = await makeContext({ Dockerfile: 'FROM scratch\n' });
    const result = await client.callTool({
      name: 'build_image',
      arguments: { context, image_name: 'charged', wait: false },
    });
    expect(result.isError).toBe(true);
    const text = JSON.stringify(result.content);
    expect(text).toMatch(/charges were declined/);
    expect(text).toMatch(/nothing was uploaded and no build started/);

    expect(asked).toHaveLength(1);
    const question = asked[0] as { message: string; requestedSchema: { properties: Record<string, unknown> } };
    // The user decides on the figures: the estimate, the project, the compute type and the region.
    expect(question.message).toMatch(/\$0\.22 for a typical 22-minute build/);
    expect(question.message).toContain(PROJECT);
    expect(question.message).toContain('BUILD_GENERAL1_MEDIUM');
    expect(question.message).toMatch(/region \S+/);
    expect(Object.keys(question.requestedSchema.properties)).toEqual(['accept']);

    expect(aws.count('s3')).toBe(0);
    expect(aws.count('codebuild', 'StartBuild')).toBe(0);
  });

  it('an accept starts the build; confirm_charges: true starts it without asking', async () => {
    answer = { action: 'accept', content: { accept: true } };
    const context = await makeContext({ Dockerfile: 'FROM scratch\n' });
    const before = asked.length;
    const accepted = await client.callTool({
      name: 'build_image',
      arguments: { context, image_name: 'charged', wait: false },
    });
    expect(accepted.isError).toBeFalsy();
    expect(asked.length).toBe(before + 1);
    expect((accepted.structuredContent as { mode: string }).mode).toBe('codebuild');

    const scripted = await client.callTool({
      name: 'build_image',
      arguments: { context, image_name: 'charged', wait: false, confirm_charges: true },
    });
    expect(scripted.isError).toBeFalsy();
    expect(asked.length).toBe(before + 1);
    const started = () => aws.count('codebuild', 'StartBuild');
    for (let poll = 0; poll < 100 && started() < 2; poll++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(started()).toBe(2);
    for (const id of [accepted, scripted].map((r) => (r.structuredContent as { build_id: string }).build_id)) {
      await client.callTool({ name: 'cancel_build', arguments: { build_id: id } });
    }
  });
});
