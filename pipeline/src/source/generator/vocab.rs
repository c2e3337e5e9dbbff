//! The tables of the built-in generator, copied from `../shared/bench/gen_events.py`: channel
//! weights with the median wait for a human and whether a bot answers first, the hourly (diurnal)
//! weights, the topics with their Chinese and English templates, moods, follow-ups, bot and agent
//! replies, and the invalid lines.
//!
//! Invariant: every list is non-empty and every weight is positive, so a uniform or weighted pick
//! always returns an element (the generator relies on it).

/// An entry channel (Python `CHANNELS`, `HUMAN_MEDIAN_S`, `NO_BOT`).
pub(super) struct Channel {
    /// Wire name (`app`, `web`, ...).
    pub(super) name: &'static str,
    /// Relative share of conversations.
    pub(super) weight: f64,
    /// Median seconds until the first human reply.
    pub(super) human_median_s: f64,
    /// Whether a bot answers first (false for `email` and `phone`).
    pub(super) bot: bool,
}

/// The known channels, in the Python order (the order matters for the weighted draw).
pub(super) static CHANNELS: [Channel; 7] = [
    Channel { name: "app", weight: 25.0, human_median_s: 60.0, bot: true },
    Channel { name: "web", weight: 18.0, human_median_s: 45.0, bot: true },
    Channel { name: "wechat", weight: 25.0, human_median_s: 90.0, bot: true },
    Channel { name: "weibo", weight: 8.0, human_median_s: 300.0, bot: true },
    Channel { name: "douyin", weight: 12.0, human_median_s: 240.0, bot: true },
    Channel { name: "email", weight: 7.0, human_median_s: 3600.0, bot: false },
    Channel { name: "phone", weight: 5.0, human_median_s: 20.0, bot: false },
];

/// Weight of a spike channel that is not in [`CHANNELS`] (Python `CHANNELS.get(channel, 5)`).
pub(super) const UNKNOWN_CHANNEL_WEIGHT: f64 = 5.0;

/// Median seconds to a human reply on a spike channel that is not in [`CHANNELS`] (the Python
/// script has none and fails with a `KeyError`; two minutes is our choice).
pub(super) const UNKNOWN_CHANNEL_HUMAN_MEDIAN_S: f64 = 120.0;

/// Share of conversations starting in each local hour: an evening peak and a busy night.
pub(super) const HOUR_WEIGHT: [f64; 24] = [
    3.0, 2.0, 1.5, 1.0, 1.0, 1.0, 1.5, 3.0, 5.0, 7.0, 8.0, 8.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 8.0, 9.0, 10.0,
    10.0, 8.0, 5.0,
];

/// Offset (seconds east of UTC) in which [`HOUR_WEIGHT`] hours are read (Python `self.tz`, +08:00).
pub(super) const LOCAL_OFFSET_S: i64 = 8 * 3600;

/// The language of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    /// Chinese.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Wire spelling (`zh`, `en`).
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// A list of texts in both languages.
#[derive(Clone, Copy)]
pub(super) struct Texts {
    /// Chinese texts.
    pub(super) zh: &'static [&'static str],
    /// English texts.
    pub(super) en: &'static [&'static str],
}

impl Texts {
    /// The texts of `lang`.
    pub(super) fn get(self, lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }
}

/// A topic: weight and customer templates (`{n}`, `{order}`, `{item}`, `{a}` are filled in).
pub(super) struct Topic {
    /// Name used in spikes and ground truth (`logistics`, `battery_heat`, ...).
    pub(super) name: &'static str,
    /// Relative share of conversations.
    pub(super) weight: f64,
    /// First customer message templates.
    pub(super) texts: Texts,
}

/// The topics, in the Python order (the order matters for the weighted draw).
pub(super) static TOPICS: [Topic; 12] = [
    Topic {
        name: "logistics",
        weight: 14.0,
        texts: Texts {
            zh: &[
                "我的包裹到哪了？已经{n}天没更新了",
                "物流一直显示运输中，订单{order}什么时候到",
                "快递停在中转站{n}天了",
                "查一下订单{order}的物流",
            ],
            en: &[
                "Where is my package? No tracking update for {n} days",
                "Order {order} has been in transit forever, when will it arrive",
                "My parcel is stuck at the depot for {n} days",
                "Can you check the shipping status of order {order}",
            ],
        },
    },
    Topic {
        name: "refund",
        weight: 12.0,
        texts: Texts {
            zh: &[
                "我要退货退款，{item}不想要了",
                "退款申请提交{n}天了还没到账",
                "怎么申请退款？订单{order}",
                "退回去的{item}你们收到了吗，钱什么时候退",
            ],
            en: &[
                "I want to return the {item} and get a refund",
                "My refund request was submitted {n} days ago and still no money",
                "How do I request a refund for order {order}",
                "Did you receive the {item} I sent back? When is the refund",
            ],
        },
    },
    Topic {
        name: "login",
        weight: 9.0,
        texts: Texts {
            zh: &[
                "账号登录不上，一直提示密码错误",
                "收不到验证码，没法登录",
                "账号被锁定了怎么办",
                "换了手机号后登录不了",
            ],
            en: &[
                "I can't log in, it keeps saying wrong password",
                "I never receive the verification code so I can't sign in",
                "My account is locked, what should I do",
                "After changing my phone number I can't log in",
            ],
        },
    },
    Topic {
        name: "payment",
        weight: 9.0,
        texts: Texts {
            zh: &[
                "付款失败，但是钱被扣了",
                "支付的时候一直转圈",
                "银行卡支付不了，提示交易失败",
                "重复扣款了{n}次",
            ],
            en: &[
                "Payment failed but I was still charged",
                "The checkout page keeps spinning when I pay",
                "My card payment is declined with transaction failed",
                "I was charged {n} times for the same order",
            ],
        },
    },
    Topic {
        name: "coupon",
        weight: 7.0,
        texts: Texts {
            zh: &["优惠券用不了", "领的满减券结算时不显示", "优惠券过期了能补发吗", "新人券怎么领取"],
            en: &[
                "My coupon doesn't work",
                "The discount voucher is not shown at checkout",
                "My coupon expired, can you reissue it",
                "How do I get the new customer coupon",
            ],
        },
    },
    Topic {
        name: "live_permission",
        weight: 6.0,
        texts: Texts {
            zh: &["如何开通直播权限", "直播权限申请被拒绝了", "为什么我不能开直播", "直播带货需要什么条件"],
            en: &[
                "How do I enable live streaming",
                "My live streaming permission request was rejected",
                "Why can't I start a live stream",
                "What do I need to sell products in a live stream",
            ],
        },
    },
    Topic {
        name: "battery_heat",
        weight: 6.0,
        texts: Texts {
            zh: &[
                "手机充电时电池发热很严重",
                "电池发烫，续航也变短了",
                "{item}用一会儿就很烫",
                "电池续航短而且发热",
            ],
            en: &[
                "The battery gets very hot while charging",
                "The battery overheats and drains fast",
                "My {item} gets hot after a few minutes",
                "Short battery life and the phone is overheating",
            ],
        },
    },
    Topic {
        name: "screen_flicker",
        weight: 5.0,
        texts: Texts {
            zh: &["屏幕一直闪烁", "屏幕闪屏还有横线", "更新系统后屏幕闪", "{item}屏幕忽明忽暗"],
            en: &[
                "The screen keeps flickering",
                "Screen flickers with horizontal lines",
                "After the update the screen flickers",
                "My {item} screen dims on and off",
            ],
        },
    },
    Topic {
        name: "cannot_boot",
        weight: 5.0,
        texts: Texts {
            zh: &["{item}无法开机了", "开不了机，一直黑屏", "手机卡在开机画面", "充了一晚上电还是开不了机"],
            en: &[
                "My {item} won't turn on",
                "It won't boot, the screen stays black",
                "The phone is stuck on the boot logo",
                "Charged it all night and it still won't start",
            ],
        },
    },
    Topic {
        name: "invoice",
        weight: 5.0,
        texts: Texts {
            zh: &["怎么开发票", "发票抬头写错了能改吗", "电子发票在哪里下载", "订单{order}需要开增值税发票"],
            en: &[
                "How do I get an invoice",
                "The invoice has the wrong company name, can it be changed",
                "Where can I download the e-invoice",
                "I need a VAT invoice for order {order}",
            ],
        },
    },
    Topic {
        name: "membership",
        weight: 6.0,
        texts: Texts {
            zh: &[
                "会员自动续费了，我要取消",
                "会员权益怎么没有生效",
                "怎么关闭自动续费",
                "开了会员还是有广告",
            ],
            en: &[
                "My membership renewed automatically, I want to cancel",
                "My membership benefits are not active",
                "How do I turn off auto renewal",
                "I paid for premium and still see ads",
            ],
        },
    },
    Topic {
        name: "address_change",
        weight: 6.0,
        texts: Texts {
            zh: &[
                "下单后能改收货地址吗",
                "地址填错了，订单{order}还没发货",
                "帮我把地址改成公司地址",
                "收货人电话写错了",
            ],
            en: &[
                "Can I change the delivery address after ordering",
                "I entered the wrong address, order {order} has not shipped yet",
                "Please change my address to my office",
                "The recipient phone number is wrong",
            ],
        },
    },
];

/// Values of `{item}`.
pub(super) const ITEMS: Texts = Texts {
    zh: &["手机", "耳机", "平板", "手表", "充电宝", "鞋子", "外套"],
    en: &["phone", "earbuds", "tablet", "watch", "power bank", "shoes", "jacket"],
};

/// Prefixes of an angry first message (filled in too: `{n}`).
pub(super) const NEGATIVE_PREFIX: Texts = Texts {
    zh: &["太差了！", "非常失望，", "再不解决我就投诉了！", "这是第{n}次问了，", "气死了，", "垃圾服务，"],
    en: &[
        "This is terrible! ",
        "I'm really frustrated, ",
        "Unacceptable. ",
        "This is the {n}th time I ask, ",
        "Worst service ever, ",
        "I'm so angry, ",
    ],
};

/// Prefixes of a friendly first message.
pub(super) const POSITIVE_PREFIX: Texts = Texts {
    zh: &["谢谢，", "麻烦了，", "辛苦了，", "你们服务一直很好，"],
    en: &["Thanks, ", "Hi, please help, ", "Thank you so much, ", "You've always been great, "],
};

/// Follow-up customer messages of a negative mood.
pub(super) const FOLLOW_NEGATIVE: Texts = Texts {
    zh: &["还在吗？请尽快处理", "怎么还没人管", "我要投诉", "太慢了"],
    en: &[
        "Hello?? anyone there",
        "Why is nobody helping",
        "I want to file a complaint",
        "This is way too slow",
    ],
};

/// Follow-up customer messages of a neutral mood.
pub(super) const FOLLOW_NEUTRAL: Texts = Texts {
    zh: &["好的", "请问还需要多久", "我等一下", "收到"],
    en: &["ok", "How long will it take", "I'll wait", "got it"],
};

/// Follow-up customer messages of a positive mood.
pub(super) const FOLLOW_POSITIVE: Texts = Texts {
    zh: &["好的谢谢", "太好了，谢谢！", "非常感谢", "解决了，谢谢"],
    en: &["great, thanks", "Awesome, thank you!", "Thanks a lot", "Solved, thank you"],
};

/// Bot replies.
pub(super) const BOT: Texts = Texts {
    zh: &["您好，正在为您查询", "请提供您的订单号", "为您找到以下解决方案", "已为您转接人工客服"],
    en: &[
        "Hi, I'm checking that for you",
        "Could you share your order number",
        "Here is a solution that may help",
        "Transferring you to a human agent",
    ],
};

/// Agent and expert replies (filled in too: `{a}`).
pub(super) const AGENT: Texts = Texts {
    zh: &[
        "非常理解您的焦急，我已为您加急处理",
        "您好，我是客服{a}，马上为您处理",
        "已经为您登记，预计24小时内解决",
        "抱歉给您带来不便",
    ],
    en: &[
        "I understand your frustration, I've escalated this for you",
        "Hi, this is agent {a}, I'll take care of it",
        "I've logged it and it should be fixed within 24 hours",
        "Sorry for the inconvenience",
    ],
};

/// Reasons of a tier-2 handoff that is not caused by a negative sentiment.
pub(super) const HANDOFF_REASONS: [&str; 2] = ["customer_request", "bot_failed"];

/// Number of extra customer/agent exchanges after the first agent reply (drawn uniformly).
pub(super) const EXTRA_ROUNDS: [u32; 5] = [0, 1, 1, 2, 3];

/// The customer's mood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mood {
    /// Angry.
    Negative,
    /// Neutral.
    Neutral,
    /// Friendly.
    Positive,
}

/// Moods with their weights, in the Python order.
pub(super) const MOODS: [(Mood, f64); 3] =
    [(Mood::Negative, 30.0), (Mood::Neutral, 50.0), (Mood::Positive, 20.0)];

impl Mood {
    /// Follow-up messages of this mood.
    pub(super) fn follow_ups(self) -> Texts {
        match self {
            Mood::Negative => FOLLOW_NEGATIVE,
            Mood::Neutral => FOLLOW_NEUTRAL,
            Mood::Positive => FOLLOW_POSITIVE,
        }
    }

    /// Probability that the bot resolves the conversation.
    pub(super) fn p_bot_resolves(self) -> f64 {
        match self {
            Mood::Negative => 0.45,
            Mood::Neutral => 0.75,
            Mood::Positive => 0.85,
        }
    }

    /// Probability of an escalation to an expert (tier 3) once a human is involved.
    pub(super) fn p_expert(self) -> f64 {
        if self == Mood::Negative { 0.12 } else { 0.03 }
    }

    /// Probability that a resolved conversation is reopened.
    pub(super) fn p_reopen(self) -> f64 {
        if self == Mood::Negative { 0.08 } else { 0.02 }
    }

    /// Mean CSAT rating before the human-path penalty.
    pub(super) fn csat_base(self) -> f64 {
        match self {
            Mood::Negative => 2.0,
            Mood::Neutral => 3.8,
            Mood::Positive => 4.6,
        }
    }
}

/// The invalid lines inserted into the stream (Python `INVALID`): not JSON, no `ts`, a bad `ts`,
/// an unknown type, a rating out of range, not an object, an empty id, a broken surrogate.
pub(super) const INVALID_LINES: [&str; 8] = [
    "{not json",
    r#"{"event_id":"x","conversation_id":"y","type":"message","role":"customer"}"#,
    r#"{"event_id":"x2","conversation_id":"y","ts":"yesterday","type":"message","role":"customer","text":"hi"}"#,
    r#"{"event_id":"x3","conversation_id":"y","ts":1793550000000,"type":"teleport"}"#,
    r#"{"event_id":"x4","conversation_id":"y","ts":1793550000000,"type":"csat","rating":9}"#,
    "[1,2,3]",
    r#"{"event_id":"","conversation_id":"y","ts":1793550000000,"type":"resolved"}"#,
    r#""\ud800 broken surrogate""#,
];
