// `-V`'s "configure arguments": which nginx modules this build provides, in nginx's own notation,
// derived from the registered modules so the line cannot drift from what the binary does.
import { modules } from '../modules.ts';

/** nginx's optional modules (off unless --with-X) and the zonesync module that provides each. */
const WITH: [flag: string, module: string][] = [
  ['http_ssl_module', 'http_ssl'],
  ['http_realip_module', 'http_realip'],
  ['http_stub_status_module', 'http_stub_status'],
  ['http_v2_module', 'http_v2'],
  ['http_gzip_static_module', 'http_gzip_static'],
  ['stream', 'stream_core'],
  ['stream_ssl_module', 'stream_ssl'],
];

/** nginx's default modules (on unless --without-X) and the zonesync module that provides each. */
const WITHOUT: [flag: string, module: string][] = [
  ['http_charset_module', 'http_charset'],
  ['http_gzip_module', 'http_gzip'],
  ['http_ssi_module', 'http_ssi'],
  ['http_userid_module', 'http_userid'],
  ['http_access_module', 'http_access'],
  ['http_auth_basic_module', 'http_auth_basic'],
  ['http_mirror_module', 'http_mirror'],
  ['http_autoindex_module', 'http_autoindex'],
  ['http_geo_module', 'http_geo'],
  ['http_map_module', 'http_map'],
  ['http_split_clients_module', 'http_split_clients'],
  ['http_referer_module', 'http_referer'],
  ['http_rewrite_module', 'http_rewrite'],
  ['http_proxy_module', 'http_proxy'],
  ['http_fastcgi_module', 'http_fastcgi'],
  ['http_uwsgi_module', 'http_uwsgi'],
  ['http_scgi_module', 'http_scgi'],
  ['http_grpc_module', 'http_grpc'],
  ['http_memcached_module', 'http_memcached'],
  ['http_limit_conn_module', 'http_limit_conn'],
  ['http_limit_req_module', 'http_limit_req'],
  ['http_empty_gif_module', 'http_empty_gif'],
  ['http_browser_module', 'http_browser'],
  ['http_upstream_hash_module', 'http_upstream_hash'],
  ['http_upstream_ip_hash_module', 'http_upstream_ip_hash'],
  ['http_upstream_least_conn_module', 'http_upstream_least_conn'],
  ['http_upstream_random_module', 'http_upstream_random'],
  ['http_upstream_keepalive_module', 'http_upstream_keepalive'],
  ['http_upstream_zone_module', 'http_upstream_zone'],
];

export function configureArguments(): string {
  const have = new Set(modules.map((m) => m.name));
  const args = ['--prefix=.', '--conf-path=conf/zonesync.conf', '--pid-path=logs/zonesync.pid'];
  for (const [flag, name] of WITH) if (have.has(name)) args.push(`--with-${flag}`);
  for (const [flag, name] of WITHOUT) if (!have.has(name)) args.push(`--without-${flag}`);
  return args.join(' ');
}
