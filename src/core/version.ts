// The gateway's name and version, reported where nginx reports its own (Server header,
// error pages, `-v`, $nginx_version).
export const PROGRAM = 'zonesync';
export const VERSION = '0.1.0';
