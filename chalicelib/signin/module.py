"""The sign-in security module's declaration for the manifest (routes, role grants, texts)."""
from __future__ import annotations

from ..core.modules import Module, routes_of

MODULE = Module(
    "signin", ("登录安全", "Sign-in security"), blueprint=routes_of("signin"),
    roles={"admin": {"actions": ["read", "manage"]}},
    messages={
        "MFA_SESSION_INVALID": {"zh-CN": "登录验证已失效，请重新输入密码登录",
                                "en": "This sign-in step has expired or is unknown; please sign in with your password again"},
        "MFA_CODE_INVALID": {"zh-CN": "动态验证码错误或已使用，请输入身份验证器中的最新验证码",
                             "en": "Wrong or already used code; enter the current code from your authenticator app"},
        "MFA_ALREADY_ENROLLED": {"zh-CN": "已绑定身份验证器；如需更换，请联系管理员重置",
                                 "en": "An authenticator is already enrolled; ask an administrator to reset it to change it"},
        "MFA_SETUP_REQUIRED": {"zh-CN": "本企业要求使用两步验证登录，请先绑定身份验证器（TOTP）",
                               "en": "Your company requires two-step sign-in: enrol an authenticator app (TOTP) first"},
        "MFA_REQUIRED": {"zh-CN": "本企业已要求两步验证登录，请重新登录并输入身份验证器中的动态验证码",
                         "en": "Your company now requires two-step sign-in: sign in again with a code from your authenticator app"},
        "CURRENT_PASSWORD_INVALID": {"zh-CN": "当前登录密码错误：绑定身份验证器需要输入您当前的登录密码",
                                     "en": "Wrong current password: enrolling an authenticator needs your current sign-in password"},
        "entity.sign_in_policy": {"zh-CN": "登录安全设置", "en": "Sign-in policy"},
    },
)
