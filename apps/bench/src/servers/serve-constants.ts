/** Values shared by the middleware benchmark and its servers (benchmark-only, not secrets). */
export const BENCH_PARTNER = 12345;
export const BENCH_SECRET = 'bench-admin-secret-0123456789abcdef';
export const BENCH_USER = 'bench-user@example.com';
export const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123';
export const JWT_ISSUER = 'https://app.example.com';
export const JWT_AUDIENCE = 'bench';
export const JWT_COOKIE = 'session';
