import { describe, expect, it } from 'vitest';
import { createGuard, FetchRefusedError } from './ssrf';

const dns: Record<string, string[]> = {
  'tjj.sh.gov.cn': ['101.89.1.10'],
  'rebind.gov.cn': ['10.0.0.7'],
  'v6.gov.cn': ['::ffff:127.0.0.1'],
  localhost: ['127.0.0.1'],
};
const guard = createGuard({
  allowedHosts: ['tjj.sh.gov.cn', 'rebind.gov.cn', 'v6.gov.cn'],
  publisherOrigin: 'http://127.0.0.1:8720',
  resolve: async (host) => (dns[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
});

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FetchRefusedError);
    return { code: (error as FetchRefusedError).code, message: (error as Error).message };
  }
  throw new Error('not refused');
}

describe('SSRF guard', () => {
  it.each([
    ['file:///etc/passwd', 'ssrf_scheme', /file: URL/],
    ['ftp://tjj.sh.gov.cn/x', 'ssrf_scheme', /ftp:/],
    ['http://127.0.0.1/admin', 'ssrf_private_address', /127\.0\.0\.1: loopback/],
    ['http://127.0.0.1:9999/x', 'ssrf_private_address', /loopback/],
    ['http://10.0.0.1/', 'ssrf_private_address', /10\.0\.0\.1: private/],
    ['http://169.254.169.254/latest/meta-data/', 'ssrf_private_address', /linkLocal/],
    ['http://[::1]/', 'ssrf_private_address', /loopback/],
    ['http://[::ffff:127.0.0.1]/', 'ssrf_private_address', /loopback/],
    ['http://[fd00::1]/', 'ssrf_private_address', /uniqueLocal/],
    ['https://evil.example.com/', 'ssrf_host_not_allowed', /evil\.example\.com: not in the source registry/],
    ['https://tjj.sh.gov.cn.evil.com/', 'ssrf_host_not_allowed', /not in the source registry/],
  ])('refuses %s (%s)', (url, code, message) => {
    const refused = refusal(() => guard.checkRealUrl(url));
    expect(refused.code).toBe(code);
    expect(refused.message).toMatch(message);
  });

  it('lets registry hosts and the offline publisher through', () => {
    expect(() => guard.checkRealUrl('https://tjj.sh.gov.cn/ydsj/index.html')).not.toThrow();
    expect(() => guard.checkRequestUrl('http://127.0.0.1:8720/tjj.sh.gov.cn/ydsj/index.html')).not.toThrow();
    expect(refusal(() => guard.checkRequestUrl('http://127.0.0.1:8721/x')).code).toBe('ssrf_private_address');
  });

  it('refuses a registry name whose DNS answer is private, at connect time', async () => {
    await expect(guard.lookup('rebind.gov.cn', {})).rejects.toThrow(/rebind\.gov\.cn: resolves to 10\.0\.0\.7 \(private address\)/);
    await expect(guard.lookup('v6.gov.cn', {})).rejects.toThrow(/resolves to ::ffff:127\.0\.0\.1 \(loopback address\)/);
    await expect(guard.lookup('tjj.sh.gov.cn', {})).resolves.toEqual([[{ address: '101.89.1.10', family: 4 }]]);
  });
});
