// onlogin as a Node 20 team would write it with AWS SDK v3: the same work as ours (claim
// the code with a conditional put, code2Session, store the session under the token's
// SHA-256), driven by a minimal Lambda Runtime API loop like the managed runtime's.
import { createHash, randomBytes } from "node:crypto";
import { DynamoDBClient, PutItemCommand, DeleteItemCommand } from "@aws-sdk/client-dynamodb";

const runtimeApi = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const dynamodb = new DynamoDBClient({});
const table = process.env.SESSIONS_TABLE;
const apiBase = process.env.WECHAT_API_BASE;
const ttl = Number(process.env.SESSION_TTL_SECONDS ?? 7200);
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const reply = (statusCode, body) => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function onlogin(event) {
  let code;
  try {
    code = JSON.parse(event.body ?? "").code;
  } catch {
    return reply(400, { error: "invalid_request", message: "the body is not valid JSON" });
  }
  if (typeof code !== "string" || !/^[A-Za-z0-9_-]{1,128}$/.test(code)) {
    return reply(400, { error: "invalid_request", message: "bad code" });
  }
  const now = Math.floor(Date.now() / 1000);
  const claimKey = `code#${sha256(code)}`;
  try {
    await dynamodb.send(new PutItemCommand({
      TableName: table,
      Item: { pk: { S: claimKey }, expires_at: { N: String(now + 300) } },
      ConditionExpression: "attribute_not_exists(pk) OR expires_at <= :now",
      ExpressionAttributeValues: { ":now": { N: String(now) } },
    }));
  } catch (err) {
    if (err.name === "ConditionalCheckFailedException") {
      return reply(409, { error: "code_used", message: "the login code was already used" });
    }
    return reply(503, { error: "store_unavailable", message: "retry shortly" });
  }
  const url = new URL("/sns/jscode2session", apiBase);
  url.search = new URLSearchParams({
    appid: process.env.WECHAT_APPID,
    secret: process.env.WECHAT_SECRET,
    js_code: code,
    grant_type: "authorization_code",
  });
  const answer = JSON.parse(await (await fetch(url)).text());
  if (answer.errcode) {
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: claimKey } } }));
    return reply(502, { error: "wechat_error", message: "WeChat returned an error" });
  }
  const token = randomBytes(32).toString("base64url");
  await dynamodb.send(new PutItemCommand({
    TableName: table,
    Item: {
      pk: { S: `session#${sha256(token)}` },
      openid: { S: answer.openid },
      session_key: { S: answer.session_key },
      created_at: { N: String(now) },
      expires_at: { N: String(now + ttl) },
    },
  }));
  return reply(200, { token, expires_in: ttl, openid: answer.openid });
}

for (;;) {
  const next = await fetch(`${runtimeApi}/invocation/next`);
  const requestId = next.headers.get("lambda-runtime-aws-request-id");
  const result = await onlogin(await next.json());
  await fetch(`${runtimeApi}/invocation/${requestId}/response`, {
    method: "POST",
    body: JSON.stringify(result),
  });
}
