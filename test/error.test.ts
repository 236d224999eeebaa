// src/error.ts: VirError and libvirt's error numbers and message templates. libvirt 9.0 itself
// (python3-libvirt, and libvirt.so's own error reporting through ctypes) is the oracle.
import assert from 'node:assert/strict';

import {
  ERROR_DOMAIN_CONSTANT_NAMES,
  ERROR_NAMES,
  ERROR_TEMPLATES,
  VirError,
  isVirError,
  virError,
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_ERROR,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_CONNECT,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_NO_SUPPORT,
  VIR_ERR_OPERATION_DENIED,
  VIR_FROM_DOMAIN,
  VIR_FROM_NONE,
  VIR_FROM_QEMU,
  VIR_FROM_TEST,
} from '../src/error';
import * as errorCodes from '../src/error-codes';
import * as publicApi from '../src';
import { PYTHON_ERROR_FIELDS, errorFields, requirePythonLibvirt, runPythonJSON, type ErrorFields } from './support/python-libvirt';

const fieldsOf = errorFields;

describe('error: VirError', () => {
  it('is an Error named VirError with all of virError’s fields', () => {
    const err = virError(VIR_ERR_NO_DOMAIN, VIR_FROM_TEST, "no domain with matching name 'x'");
    assert.ok(err instanceof Error);
    assert.ok(err instanceof VirError);
    assert.ok(isVirError(err));
    assert.equal(isVirError(new Error('plain')), false);
    assert.equal(err.name, 'VirError');
    assert.deepEqual(fieldsOf(err), {
      code: 42,
      domain: 12,
      level: VIR_ERR_ERROR,
      message: "Domain not found: no domain with matching name 'x'",
      str1: 'Domain not found: %s',
      str2: "no domain with matching name 'x'",
      str3: null,
      int1: -1,
      int2: -1,
    });
    assert.match(String(err.stack), /^VirError: Domain not found: no domain with matching name 'x'\n/);
    assert.equal(err.codeName, 'VIR_ERR_NO_DOMAIN');
    assert.equal(err.domainName, 'VIR_FROM_TEST');
  });

  it('fills level, str1..str3, int1 and int2 with libvirt’s defaults when not given', () => {
    const err = new VirError({ code: VIR_ERR_INTERNAL_ERROR, domain: VIR_FROM_QEMU, message: 'internal error: boom' });
    assert.deepEqual(fieldsOf(err), {
      code: 1,
      domain: 10,
      level: 2,
      message: 'internal error: boom',
      str1: null,
      str2: null,
      str3: null,
      int1: -1,
      int2: -1,
    });
  });

  it('builds messages from libvirt’s templates, with and without a detail', () => {
    assert.equal(virError(VIR_ERR_NO_DOMAIN, VIR_FROM_TEST).message, 'Domain not found');
    assert.equal(virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'oops').message, 'internal error: oops');
    assert.equal(
      virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, "unknown teaming type 'x'").message,
      "unsupported configuration: unknown teaming type 'x'",
    );
    assert.equal(virError(VIR_ERR_NO_CONNECT, VIR_FROM_NONE, 'bogus:///x').message, 'no connection driver available for bogus:///x');
    assert.equal(
      virError(VIR_ERR_NO_SUPPORT, VIR_FROM_DOMAIN, 'virDomainXxx').message,
      'this function is not supported by the connection driver: virDomainXxx',
    );
    assert.equal(
      virError(VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN, 'read only access prevents virDomainDefineXML').message,
      'operation forbidden: read only access prevents virDomainDefineXML',
    );
  });

  it('puts a detail in verbatim, even one that looks like a replacement pattern', () => {
    assert.equal(virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, "$& and $' and %s").message, "internal error: $& and $' and %s");
  });

  it('names every error code and error domain by its constant', () => {
    for (const [code, name] of ERROR_NAMES.entries()) {
      assert.equal((errorCodes as Record<string, unknown>)[name], code, name);
      assert.equal(new VirError({ code, domain: 0, message: '' }).codeName, name);
    }
    for (const [domain, name] of ERROR_DOMAIN_CONSTANT_NAMES.entries()) {
      assert.equal((errorCodes as Record<string, unknown>)[name], domain, name);
    }
    assert.equal(ERROR_TEMPLATES.length, ERROR_NAMES.length);
  });

  it('is exported from the package entry point with every VIR_ERR_* and VIR_FROM_* constant', () => {
    assert.equal(publicApi.VirError, VirError);
    for (const name of [...ERROR_NAMES, ...ERROR_DOMAIN_CONSTANT_NAMES]) {
      assert.equal(typeof (publicApi as Record<string, unknown>)[name], 'number', name);
    }
  });
});

describe('error: parity with libvirt 9.0 (python3-libvirt)', function () {
  this.timeout(30_000);

  interface Oracle {
    version: number;
    constants: Record<string, number>;
    reported: Array<{ code: number; bare: ErrorFields | null; detailed: ErrorFields | null }>;
  }
  let oracle: Oracle | undefined;

  // libvirt.so reports each error code through its own virReportErrorHelper (what every libvirt
  // function uses), once without and once with a detail; libvirt's templates come back as they are.
  const script = `
import ctypes, json, sys, libvirt
${PYTHON_ERROR_FIELDS}
class VirErrorStruct(ctypes.Structure):
    _fields_ = [('code', ctypes.c_int), ('domain', ctypes.c_int), ('message', ctypes.c_char_p),
                ('level', ctypes.c_int), ('conn', ctypes.c_void_p), ('dom', ctypes.c_void_p),
                ('str1', ctypes.c_char_p), ('str2', ctypes.c_char_p), ('str3', ctypes.c_char_p),
                ('int1', ctypes.c_int), ('int2', ctypes.c_int), ('net', ctypes.c_void_p)]
lib = ctypes.CDLL('libvirt.so.0')
lib.virGetLastError.restype = ctypes.POINTER(VirErrorStruct)
text = lambda b: None if b is None else b.decode()
def report(code, domain, detail):
    lib.virResetLastError()
    args = [b'%s', detail.encode()] if detail is not None else [None]
    lib.virReportErrorHelper(ctypes.c_int(domain), ctypes.c_int(code), b'error.test', b'report',
                             ctypes.c_size_t(1), *args)
    p = lib.virGetLastError()
    if not p:
        return None
    e = p.contents
    return dict(code=e.code, domain=e.domain, level=e.level, message=text(e.message), str1=text(e.str1),
                str2=text(e.str2), str3=text(e.str3), int1=e.int1, int2=e.int2)
codes, domain, detail = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
report(1, domain, None)  # the first report sets up libvirt's error state
constants = {k: v for k, v in vars(libvirt).items()
             if k.startswith(('VIR_ERR_', 'VIR_WAR_', 'VIR_FROM_')) and isinstance(v, int)}
print(json.dumps(dict(version=libvirt.getVersion(), constants=constants,
                      reported=[dict(code=c, bare=report(c, domain, None), detailed=report(c, domain, detail))
                                for c in codes])))
`;
  const detail = "no domain with matching name 'x'";
  const codes = ERROR_NAMES.map((_, code) => code).filter((code) => code > 0);

  before(function () {
    requirePythonLibvirt(this);
    oracle = runPythonJSON<Oracle>(script, [JSON.stringify(codes), String(VIR_FROM_DOMAIN), detail]);
    if (Math.floor(oracle.version / 1000) !== 9000) {
      console.log(`    (skipped: python3-libvirt has libvirt ${oracle.version}, not 9.0)`);
      this.skip();
    }
  });

  it(`every error code's message without a detail equals libvirt's (${codes.length} codes)`, () => {
    const mismatches: string[] = [];
    for (const { code, bare } of oracle!.reported) {
      assert.ok(bare, `libvirt reported nothing for code ${code}`);
      const ours = fieldsOf(virError(code, VIR_FROM_DOMAIN));
      if (JSON.stringify(ours) !== JSON.stringify(bare)) {
        mismatches.push(`${ERROR_NAMES[code]}: ${JSON.stringify(ours)} != ${JSON.stringify(bare)}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  it(`every error code's message with a detail equals libvirt's (${codes.length} codes)`, () => {
    const mismatches: string[] = [];
    for (const { code, detailed } of oracle!.reported) {
      const ours = fieldsOf(virError(code, VIR_FROM_DOMAIN, detail));
      if (JSON.stringify(ours) !== JSON.stringify(detailed)) {
        mismatches.push(`${ERROR_NAMES[code]}: ${JSON.stringify(ours)} != ${JSON.stringify(detailed)}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  it('every VIR_ERR_*, VIR_WAR_* and VIR_FROM_* constant has libvirt’s name and number, none missing', () => {
    const ours = Object.fromEntries(
      Object.entries(errorCodes).filter(([k, v]) => /^VIR_(ERR|WAR|FROM)_/.test(k) && typeof v === 'number'),
    );
    for (const [name, value] of Object.entries(oracle!.constants)) {
      assert.equal(ours[name], value, `${name} is ${ours[name]}, libvirt says ${value}`);
    }
    // Python leaves out only the *_LAST sentinels.
    const extra = Object.keys(ours).filter((name) => !(name in oracle!.constants) && !/_LAST$/.test(name));
    assert.deepEqual(extra, []);
  });
});
