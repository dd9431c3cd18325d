/**
 * The Python program that runs every PyTorch check in one container (one interpreter start and one `import torch`
 * instead of one per check). It is passed as the `-c` argument, never through a shell, and takes its settings as
 * a JSON argv element. Each check prints one line `@@dib-smoke@@ {json}`, flushed at once, so the checks that
 * finished survive a crash or a timeout in a later one. Written for Python 3.6+ (old images).
 */
export const PROBE_MARKER = '@@dib-smoke@@ ';

export const BASE_PROBE_CHECKS = [
  'torch-import',
  'torchvision-import',
  'torchaudio-import',
  'torchvision-nms',
  'fsdp-import',
  'tensor-op',
] as const;

export const GPU_PROBE_CHECKS = ['cuda-available', 'cuda-version', 'nccl', 'gpu-tensor-op'] as const;

export type ProbeCheckName = (typeof BASE_PROBE_CHECKS)[number] | (typeof GPU_PROBE_CHECKS)[number];

export const PROBE_SCRIPT = String.raw`
import json, platform, sys, time, traceback, warnings

MARK = ${JSON.stringify(PROBE_MARKER)}
CONFIG = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
S = {}


class Skip(Exception):
    pass


def emit(kind, payload):
    payload['kind'] = kind
    sys.stdout.write(MARK + json.dumps(payload, default=str) + '\n')
    sys.stdout.flush()


def need(key, why):
    if key not in S:
        raise Skip(why)


def check(name, fn):
    started = time.time()
    record = {'name': name, 'data': {}}
    output = ''
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            output, record['data'] = fn()
            record['status'] = 'passed'
        except Skip as e:
            record['status'] = 'skipped'
            output = str(e)
        except Exception as e:
            record['status'] = 'failed'
            record['error'] = ('%s: %s' % (type(e).__name__, e))[:1000]
            if type(e).__name__ == 'ModuleNotFoundError':
                record['missing_module'] = getattr(e, 'name', None)
            output = traceback.format_exc()
    lines = ['%s: %s' % (w.category.__name__, w.message) for w in caught]
    if lines:
        output = output.rstrip('\n') + '\n' + '\n'.join(lines)
    record['output'] = output.strip()[-4000:]
    record['duration_ms'] = int(round((time.time() - started) * 1000))
    emit('check', record)


def import_optional(module):
    try:
        return __import__(module)
    except ImportError as e:
        if type(e).__name__ == 'ModuleNotFoundError' and getattr(e, 'name', None) == module:
            raise Skip('%s is not installed' % module)
        raise


def torch_import():
    import torch
    S['torch'] = torch
    cuda = getattr(torch.version, 'cuda', None)
    hip = getattr(torch.version, 'hip', None)
    S['cuda_build'] = cuda
    data = {'version': torch.__version__, 'cuda': cuda, 'hip': hip, 'file': torch.__file__}
    return 'torch %s (CUDA build: %s) at %s' % (torch.__version__, cuda or 'none, CPU-only', torch.__file__), data


def torchvision_import():
    need('torch', 'torch did not import')
    tv = import_optional('torchvision')
    S['torchvision'] = tv
    return 'torchvision %s at %s' % (tv.__version__, tv.__file__), {'version': tv.__version__}


def torchaudio_import():
    need('torch', 'torch did not import')
    ta = import_optional('torchaudio')
    return 'torchaudio %s at %s' % (ta.__version__, ta.__file__), {'version': ta.__version__}


def torchvision_nms():
    need('torchvision', 'torchvision did not import')
    torch = S['torch']
    from torchvision.ops import nms
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    keep = nms(boxes, scores, 0.5).tolist()
    if keep != [0, 2]:
        raise AssertionError('torchvision.ops.nms kept %r, expected [0, 2]' % (keep,))
    return 'torchvision.ops.nms on CPU kept boxes %r (expected [0, 2])' % (keep,), {}


def fsdp_import():
    need('torch', 'torch did not import')
    import torch.distributed as dist
    if not dist.is_available():
        raise AssertionError('torch.distributed is not available: this torch was built without distributed support')
    from torch.distributed.fsdp import FullyShardedDataParallel  # noqa: F401
    backends = [b for b in ('nccl', 'gloo', 'mpi') if getattr(dist, 'is_%s_available' % b, lambda: False)()]
    return 'torch.distributed.fsdp.FullyShardedDataParallel imported; backends: %s' % (', '.join(backends) or 'none'), {}


def tensor_op():
    need('torch', 'torch did not import')
    torch = S['torch']
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    product = (a @ a.t()).tolist()
    if product != [[5.0, 14.0], [14.0, 50.0]]:
        raise AssertionError('a @ a.T gave %r, expected [[5, 14], [14, 50]]' % (product,))
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    if x.grad.tolist() != [2.0, 4.0, 6.0]:
        raise AssertionError('autograd gave %r, expected [2, 4, 6]' % (x.grad.tolist(),))
    return 'matmul %r and autograd %r are correct' % (product, x.grad.tolist()), {}


def cuda_available():
    need('torch', 'torch did not import')
    torch = S['torch']
    if not S.get('cuda_build'):
        raise AssertionError('this torch is a CPU-only build (torch.version.cuda is None); install a CUDA build of torch')
    if not torch.cuda.is_available():
        raise AssertionError('torch.cuda.is_available() is False although the container has GPUs attached')
    S['cuda'] = True
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return 'torch.cuda.is_available() = True; %d device(s): %s' % (len(names), ', '.join(names)), {'devices': names}


def cuda_version():
    need('cuda', 'CUDA is not available')
    torch = S['torch']
    major, minor = torch.cuda.get_device_capability(0)
    arch = 'sm_%d%d' % (major, minor)
    archs = torch.cuda.get_arch_list() if hasattr(torch.cuda, 'get_arch_list') else []
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    text = 'CUDA %s (torch build), cuDNN %s; GPU 0 is %s; kernels for: %s' % (
        torch.version.cuda, cudnn, arch, ' '.join(archs) or 'unknown')
    return text, {'cuda': torch.version.cuda, 'cudnn': cudnn, 'arch': arch, 'arch_list': archs}


def nccl():
    need('cuda', 'CUDA is not available')
    torch = S['torch']
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_nccl_available()):
        raise AssertionError('the NCCL backend is not available in torch.distributed')
    version = torch.cuda.nccl.version()
    if isinstance(version, int):
        version = '%d.%d.%d' % (version // 1000, version % 1000 // 100, version % 100) if version < 10000 else \
            '%d.%d.%d' % (version // 10000, version % 10000 // 100, version % 100)
    else:
        version = '.'.join(str(part) for part in version)
    return 'NCCL %s' % version, {'version': version}


def gpu_tensor_op():
    need('cuda', 'CUDA is not available')
    torch = S['torch']
    x = torch.ones(64, 64, device='cuda')
    total = (x @ x).sum().item()
    torch.cuda.synchronize()
    if total != 64.0 ** 3:
        raise AssertionError('ones(64, 64) @ ones(64, 64) summed to %r on the GPU, expected %r' % (total, 64.0 ** 3))
    return 'matmul on %s summed to %r (correct)' % (torch.cuda.get_device_name(0), total), {}


emit('info', {'python_version': platform.python_version(), 'executable': sys.executable})
CHECKS = [
    ('torch-import', torch_import),
    ('torchvision-import', torchvision_import),
    ('torchaudio-import', torchaudio_import),
    ('torchvision-nms', torchvision_nms),
    ('fsdp-import', fsdp_import),
    ('tensor-op', tensor_op),
]
if CONFIG.get('gpu'):
    CHECKS += [
        ('cuda-available', cuda_available),
        ('cuda-version', cuda_version),
        ('nccl', nccl),
        ('gpu-tensor-op', gpu_tensor_op),
    ]
for check_name, check_fn in CHECKS:
    check(check_name, check_fn)
emit('done', {})
`;

export interface ProbeCheckLine {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  duration_ms: number;
  output: string;
  error?: string;
  missing_module?: string | null;
  data: Record<string, unknown>;
}

export interface ProbeOutput {
  info?: { python_version?: string; executable?: string };
  checks: ProbeCheckLine[];
  /** The probe reached its end; when false it crashed or was stopped, and missing checks never finished. */
  done: boolean;
}

function isStatus(value: unknown): value is ProbeCheckLine['status'] {
  return value === 'passed' || value === 'failed' || value === 'skipped';
}

/** Reads the probe's marked lines from stdout; other lines (warnings, banners the image prints) are ignored. */
export function parseProbeOutput(stdout: string): ProbeOutput {
  const result: ProbeOutput = { checks: [], done: false };
  for (const line of stdout.split('\n')) {
    const start = line.indexOf(PROBE_MARKER);
    if (start < 0) continue;
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(line.slice(start + PROBE_MARKER.length)) as Record<string, unknown>;
    } catch {
      continue; // a line cut by a crash mid-write
    }
    if (payload.kind === 'info') {
      result.info = {
        python_version: typeof payload.python_version === 'string' ? payload.python_version : undefined,
        executable: typeof payload.executable === 'string' ? payload.executable : undefined,
      };
    } else if (payload.kind === 'done') {
      result.done = true;
    } else if (payload.kind === 'check' && typeof payload.name === 'string' && isStatus(payload.status)) {
      result.checks.push({
        name: payload.name,
        status: payload.status,
        duration_ms: typeof payload.duration_ms === 'number' ? Math.max(0, Math.round(payload.duration_ms)) : 0,
        output: typeof payload.output === 'string' ? payload.output : '',
        error: typeof payload.error === 'string' ? payload.error : undefined,
        missing_module: typeof payload.missing_module === 'string' ? payload.missing_module : undefined,
        data:
          payload.data && typeof payload.data === 'object' && !Array.isArray(payload.data)
            ? (payload.data as Record<string, unknown>)
            : {},
      });
    }
  }
  return result;
}
