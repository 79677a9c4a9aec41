"""Writes callcenter/users/common_passwords.txt, the passwords a user may not choose.

Where the list comes from, honestly: the base words below were written down from
memory of the passwords that the widely published "most common passwords" rankings
and studies of leaked password sets keep naming (international ones and the ones
Chinese users favour), not copied from any leaked file. To them are added the
patterns people build passwords from: digit runs and repeats, keyboard walks, and each
base word with the endings people append (digits, years, "!", "@123", ...).

Run it again after editing the words: ``python scripts/make_common_passwords.py``.
The checker compares case-insensitively (callcenter.users.passwords).
"""

from __future__ import annotations

from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "callcenter" / "users" / \
    "common_passwords.txt"

#: Passwords that appear as they are near the top of the published rankings.
WHOLE = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123
baseball abc123 football monkey letmein shadow master 666666 qwertyuiop 123321 mustang
1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer
trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew
tigger sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel starwars
klaster 112233 george computer michelle jessica pepper 1111 zxcvbn 555555 11111111
131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda
summer love ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin
thunder taylor matrix mobilemail mom monitor monitoring montana moon moscow
welcome welcome1 admin admin123 administrator root toor passw0rd p@ssw0rd p@ssword
password1 password12 password123 password1234 qwerty123 qwerty1 qwerty12 1q2w3e4r
1q2w3e4r5t 1q2w3e 1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 zaq12wsx zaq1zaq1 1qazxsw2 qweasdzxc
qweasd qwe123 asdf1234 qwer1234 zxcv1234 asdfghjkl asdfghjkl; 1qaz2wsx3edc qazwsxedc
qazwsxedcrfv !qaz2wsx 1qaz@wsx abcd1234 abcdef abcdefg abcdefgh abcdefghi abcdefghij
a1b2c3 a1b2c3d4 aa123456 a123456 a12345678 a123456789 123456a 123456aa 123456abc
abc123456 123abc 1234abcd qq123456 123456qq woaini woaini1314 woaini520 5201314
1314520 5201314520 1314520520 woaini1314520 woaini5201314 woaiwojia woainima iloveyou1
iloveyou2 loveyou
147258369 147258 159357 159753456 741852963 789456123 789456 123654789 963852741
12344321 123321123 123454321 1234554321 11223344 1122334455 110110110 31415926
3.1415926 0123456789 00000000 000000000 0000000000 88888888 66666666 99999999
22222222 12121212 12341234 123123123 123456123 1234512345 123456123456 dearbook
xiazhili qqqqqqqq aaaaaaaa zzzzzzzz asdasdasd qweqweqwe zxczxczxc changeme secret
default guest test test123 test1234 testing letmein1 login user user123 demo demo123
sample hello hello123 hellokitty iloveu lovely love123 loveme forever whatever
superman1 batman1 football1 baseball1 monkey1 dragon1 master1 shadow1 michael1
jordan23 jordan1 liverpool arsenal chelsea1 manchester barcelona realmadrid juventus
pokemon naruto minecraft fortnite roblox starwars1 pass123 pass1234 passpass
internet google facebook youtube twitter instagram linkedin microsoft windows apple
samsung huawei xiaomi android iphone nokia lenovo baidu taobao tencent alibaba wechat
shanghai beijing guangzhou shenzhen china china123 zhongguo zhangwei wangwei liwei
wanglei liuyang zhangjie woshishui nihao nihao123 aini1314 521521 520520 1314521
qazqaz 12qwaszx 1q2w3e4r5 zxcvbnm123 zxcvbnm1 asd123 asd123456 zxc123 zxc123456
qwe123456 qwe123qwe 123qweasd 123qweasdzxc 1qaz2wsx3edc4rfv 1234qwer qwer4321
"""

#: Words people build passwords from (each also gets the usual endings).
WORDS = """
password passwd pass admin administrator root manager system service support server
welcome hello login secret master super user guest test demo office company business
love iloveyou lover baby angel princess prince sunshine summer winter spring autumn
flower star moon sun sky ocean river dragon tiger monkey lion eagle wolf bear shark
horse dog cat puppy kitty panda rabbit chicken football baseball soccer basketball
hockey tennis golf jordan kobe messi ronaldo michael jennifer jessica ashley amanda
daniel david james john robert thomas william charlie george joseph andrew matthew
joshua anthony nicole michelle sarah maria lisa anna alex max jack harry oliver sophie
shadow killer hunter ranger matrix ninja pirate batman superman spiderman ironman
starwars pokemon naruto dragonball minecraft qwerty asdf zxcv abc abcd abcdef letmein
trustno freedom whatever access computer internet google windows apple samsung huawei
xiaomi iphone android china beijing shanghai guangzhou shenzhen hangzhou wuhan chengdu
nanjing tianjin zhongguo woaini aini nihao wangwei zhangwei liwei liuyang chenjie
wanglei zhangjie lijun wangjun zhanglei yangyang xiaoming xiaohong huanghe changjiang
callcenter customer helpdesk hotline kefu fuwu guanli mima changeme default company
qwertyuiop asdfghjkl zxcvbnm qazwsx zaq1 1qaz
"""

#: What people append to a word.
ENDINGS = ["", "1", "2", "12", "123", "1234", "12345", "123456", "1234567", "12345678",
           "!", "1!", "123!", "!!", "@123", "#123", "@1", "01", "007", "11", "22", "66",
           "88", "99", "520", "666", "888", "1314", "5201314", "2020", "2021", "2022",
           "2023", "2024", "2025", "2026", "2027", "@2024", "@2025", "@2026", ".", "00", "000",
           "111", "abc", "qwe"]


def digit_runs() -> set[str]:
    runs = set()
    up, down = "12345678901234567890", "98765432109876543210"
    for length in range(4, 13):
        runs.add(up[:length])
        runs.add(down[:length])
        runs.add(up[1:length + 1])  # 2345..., 0123 via the next line
        runs.add("0" + up[:length - 1])
        for digit in "0123456789":
            runs.add(digit * length)
    for block in ("12", "123", "1234", "12345", "123456", "11", "111", "1122", "6688",
                  "5201314", "520", "1314", "1010", "2580", "147", "258", "369", "159",
                  "abc", "abc123", "qwe", "asd", "zxc", "a1", "aa", "ab"):
        for times in (2, 3, 4):
            runs.add(block * times)
    return runs


def keyboard_walks() -> set[str]:
    rows = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]
    walks = set()
    for row in rows:
        for length in range(4, len(row) + 1):
            walks.add(row[:length])
            walks.add(row[:length][::-1])
    columns = ["1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik,", "9ol.", "0p;/"]
    for n in range(2, 6):
        walks.add("".join(columns[:n]))
        walks.add("".join(c.upper() if i % 2 else c for i, c in enumerate(columns[:n])))
        walks.add("".join(c[::-1] for c in columns[:n]))
    pairs = ["1q", "2w", "3e", "4r", "5t", "6y", "7u", "8i", "9o", "0p"]
    for n in range(3, 11):
        walks.add("".join(pairs[:n]))
        walks.add("".join(p[::-1] for p in pairs[:n]))
    return walks


def build() -> list[str]:
    entries = set(WHOLE.split()) | digit_runs() | keyboard_walks()
    for word in WORDS.split():
        for ending in ENDINGS:
            entries.add(word + ending)
        entries.add(word + word)
        entries.add(word.replace("a", "@").replace("o", "0") + "123")
        entries.add(word.replace("o", "0").replace("i", "1").replace("e", "3"))
    return sorted({e.lower() for e in entries if len(e) >= 4})


def main() -> None:
    entries = build()
    header = ("# Passwords a user may not choose (compared case-insensitively), one a line.\n"
              "# Written by scripts/make_common_passwords.py: see there where it comes "
              "from.\n")
    TARGET.write_text(header + "\n".join(entries) + "\n", encoding="utf-8")
    print(f"{len(entries)} passwords written to {TARGET}")


if __name__ == "__main__":
    main()
