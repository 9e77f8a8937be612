// Mistakes the types must catch. Each line under `// @ts-expect-error` must be an error:
// tsc fails on an expectation that is not met, so a check that passes proves every one.
import { createClient, TAP_AGAIN_TEXT, WxLoginError } from 'wxlogin-client';

const baseUrl = 'https://api.example.com';

// @ts-expect-error baseUrl is required
createClient({});
// @ts-expect-error no options at all
createClient();
// @ts-expect-error timeout is a number of ms
createClient({ baseUrl, timeout: '5000' });
// @ts-expect-error appid is a string
createClient({ baseUrl, appid: 1234 });
// @ts-expect-error now is a clock function, not a time
createClient({ baseUrl, now: Date.now() });
// @ts-expect-error onTapAgain receives a WxLoginError
createClient({ baseUrl, onTapAgain: (message: string) => console.log(message) });
// @ts-expect-error an unknown option (a typo of timeout)
createClient({ baseUrl, timout: 5000 });
// @ts-expect-error a wx without request or storage
createClient({ baseUrl, wx: { login() {} } });

createClient({
  baseUrl,
  onNeedPrivacy: (resolve, eventInfo) => {
    // @ts-expect-error agreeing names the agreePrivacyAuthorization button
    resolve({ event: 'agree' });
    // @ts-expect-error not an event WeChat knows
    resolve({ event: 'accept', buttonId: 'agree-btn' });
    // @ts-expect-error eventInfo has referrer only
    console.log(eventInfo.api);
  },
});
// @ts-expect-error onNeedPrivacy is a function (resolve, eventInfo) => void, not a flag
createClient({ baseUrl, onNeedPrivacy: true });

const api = createClient({ baseUrl });

async function misuse() {
  // @ts-expect-error no such method
  await api.refresh();
  // @ts-expect-error getPhoneNumber needs the button's event
  await api.getPhoneNumber();
  // @ts-expect-error getRealtimePhoneNumber needs the button's event
  await api.getRealtimePhoneNumber();
  // @ts-expect-error the event's code is a string
  await api.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:ok', code: 42 } });
  // @ts-expect-error url is a path under baseUrl, starting with /
  await api.request({ url: 'session' });
  // @ts-expect-error url is required
  await api.request({ method: 'GET' });
  // @ts-expect-error not a method wx.request knows
  await api.request({ url: '/session', method: 'FETCH' });
  // @ts-expect-error auth is a boolean
  await api.request({ url: '/session', auth: 'no' });
  // @ts-expect-error getToken() may answer null
  const token: string = api.getToken();
  // @ts-expect-error getSession() may answer null
  console.log(api.getSession().openid);
  // @ts-expect-error logoutEverywhere() resolves with a count
  const ended: string = await api.logoutEverywhere();
  // @ts-expect-error getAccessToken() takes no argument
  await api.getAccessToken('openid');
  // @ts-expect-error the stored session says newUser, the login answer new_user
  console.log(api.getSession()?.new_user);
  console.log(token, ended);

  try {
    await api.login();
  } catch (err) {
    // @ts-expect-error a caught value is unknown until narrowed
    console.log(err.code);
    if (err instanceof WxLoginError) {
      // @ts-expect-error not a code the client or the server has (invalid_token)
      if (err.code === 'invalid_tokn') return;
      // @ts-expect-error retry is 'tap_again' or absent
      if (err.retry === 'tap-again') return;
      // @ts-expect-error stage is 'login' or 'request'
      if (err.stage === 'refresh') return;
      // @ts-expect-error status is a number
      const status: string = err.status;
      console.log(status);
    }
  }
}

// @ts-expect-error a WxLoginError carries a known code
new WxLoginError('no_such_code', 'message');
// @ts-expect-error TAP_AGAIN_TEXT is a constant
TAP_AGAIN_TEXT = '再点一次';

export { misuse };
