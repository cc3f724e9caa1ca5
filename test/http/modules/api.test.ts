// The API dispatcher on a fake request: bodies (JSON, 413, 415, read errors), handler errors,
// statuses without a body, and ?fields= on collections.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../src/api/errors.ts';
import { registerApiEndpoint } from '../../../src/api/router.ts';
import { HttpError } from '../../../src/http/engine/types.ts';
import { type ApiConf, dispatchApi } from '../../../src/http/modules/api.ts';
import { DONE, type HttpRequest } from '../../../src/http/types.ts';
import { fakeRequest } from '../../helpers/fake_request.ts';

registerApiEndpoint({
  path: ['unit', 'echo'],
  methods: { POST: async (req) => ({ status: 201, body: { got: await req.json(), key: req.arg('key') } }) },
});
registerApiEndpoint({
  path: ['unit', 'zones', '{zone}'],
  shape: 'collection',
  methods: {
    GET: (req) => {
      if (req.params.zone !== 'one') throw new ApiError(404, 'KeyvalNotFound', 'keyval not found');
      return { status: 200, body: { one: { a: 1, b: 2 } } };
    },
    DELETE: () => ({ status: 204 }),
  },
});

const conf: ApiConf = { write: true, prefix: '/api', bodyLimit: 64, requestId: () => 'f'.repeat(32) };

interface Sent {
  status: number;
  body: string;
  type: string | undefined;
}

async function call(method: string, target: string, body?: Buffer | HttpError): Promise<Sent> {
  let sent: Sent | undefined;
  const r: HttpRequest = {
    ...fakeRequest({ method, target }),
    body: {
      received: 0,
      readAll: (limit: number) => {
        if (body instanceof HttpError) return Promise.reject(body);
        const data = body ?? Buffer.alloc(0);
        return data.length > limit
          ? Promise.reject(new HttpError(413, `client intended to send too large body: ${data.length} bytes`))
          : Promise.resolve(data);
      },
      onData: () => {},
    },
    send: (status, b, type) => {
      sent = { status, body: b.toString(), type };
      return DONE;
    },
    logError: () => {},
  };
  assert.equal(await dispatchApi(r, conf), DONE);
  return sent as Sent;
}

function errorCode(sent: Sent): string {
  const body = JSON.parse(sent.body) as { error: { status: number; code: string }; request_id: string };
  assert.equal(body.error.status, sent.status);
  assert.equal(body.request_id, 'f'.repeat(32));
  return `${sent.status} ${body.error.code}`;
}

describe('dispatchApi', () => {
  it('hands the JSON body and decoded arguments to the handler', async () => {
    const sent = await call('POST', '/api/9/unit/echo?key=a%20b', Buffer.from('{"k":"é"}'));
    assert.deepEqual(sent, {
      status: 201,
      body: JSON.stringify({ got: { k: 'é' }, key: 'a b' }),
      type: 'application/json',
    });
  });

  it('answers 415 JsonError for a body that is not JSON', async () => {
    assert.equal(errorCode(await call('POST', '/api/9/unit/echo', Buffer.from('{"k":'))), '415 JsonError');
    assert.equal(errorCode(await call('POST', '/api/9/unit/echo')), '415 JsonError');
  });

  it('answers 413 with the error body past client_body_buffer_size', async () => {
    const sent = await call('POST', '/api/9/unit/echo', Buffer.from(`"${'x'.repeat(100)}"`));
    assert.equal(errorCode(sent), '413 RequestEntityTooLarge');
  });

  it('answers 400 BodyReadError when the body breaks off', async () => {
    const sent = await call('POST', '/api/9/unit/echo', new HttpError(400, 'bad chunk'));
    assert.equal(errorCode(sent), '400 BodyReadError');
  });

  it("sends a handler's ApiError as the error body", async () => {
    assert.equal(errorCode(await call('GET', '/api/9/unit/zones/two')), '404 KeyvalNotFound');
  });

  it('sends no body for a reply without one', async () => {
    assert.deepEqual(await call('DELETE', '/api/9/unit/zones/one'), {
      status: 204,
      body: '',
      type: undefined,
    });
  });

  it('applies ?fields= to each member of a collection', async () => {
    assert.equal((await call('GET', '/api/9/unit/zones/one?fields=b')).body, '{"one":{"b":2}}');
    assert.equal((await call('GET', '/api/9/unit/zones/one?fields=')).body, '{"one":{}}');
  });
});
