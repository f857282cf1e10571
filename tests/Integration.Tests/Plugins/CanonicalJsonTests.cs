using Aetherra.Infrastructure.Json;

namespace Aetherra.Integration.Tests.Plugins;

/// <summary>RFC 8785 (JCS), checked against the RFC's own examples (sections 3.2.2, 3.2.3 and appendix B).</summary>
public sealed class CanonicalJsonTests
{
    [Fact]
    public void the_rfc_example_canonicalizes_to_the_rfc_output()
    {
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;

        Assert.Equal("""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}""",
            CanonicalJson.CanonicalText(input));
    }

    [Fact]
    public void members_are_sorted_by_utf16_code_units_as_in_the_rfc_sorting_example()
    {
        const string input = """
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """;

        using var canonical = JsonDocument.Parse(CanonicalJson.CanonicalText(input));
        var values = canonical.RootElement.EnumerateObject().Select(p => p.Value.GetString()).ToArray();
        Assert.Equal(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
            "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"], values);
    }

    [Theory]
    [InlineData(0x0000000000000000UL, "0")]
    [InlineData(0x8000000000000000UL, "0")]
    [InlineData(0x0000000000000001UL, "5e-324")]
    [InlineData(0x8000000000000001UL, "-5e-324")]
    [InlineData(0x7fefffffffffffffUL, "1.7976931348623157e+308")]
    [InlineData(0xffefffffffffffffUL, "-1.7976931348623157e+308")]
    [InlineData(0x4340000000000000UL, "9007199254740992")]
    [InlineData(0xc340000000000000UL, "-9007199254740992")]
    [InlineData(0x4430000000000000UL, "295147905179352830000")]
    [InlineData(0x44b52d02c7e14af5UL, "9.999999999999997e+22")]
    [InlineData(0x44b52d02c7e14af6UL, "1e+23")]
    [InlineData(0xbecbf647612f3696UL, "-0.0000033333333333333333")]
    [InlineData(0x43143ff3c1cb0959UL, "1424953923781206.2")]
    [InlineData(0x41b3de4355555554UL, "333333333.33333325")]
    [InlineData(0x3eb0c6f7a0b5ed8dUL, "0.000001")]
    [InlineData(0x3eb0c6f7a0b5ed8cUL, "9.999999999999997e-7")]
    [InlineData(0x41b3de4355555553UL, "333333333.3333332")]
    [InlineData(0x41b3de4355555555UL, "333333333.3333333")]
    [InlineData(0x4197d78400000000UL, "100000000")]
    [InlineData(0x444b1ae4d6e2ef50UL, "1e+21")]
    [InlineData(0x444b1ae4d6e2ef4fUL, "999999999999999900000")]
    public void numbers_are_written_as_ecmascript_writes_them(ulong bits, string expected)
    {
        Assert.Equal(expected, CanonicalJson.FormatNumber(BitConverter.UInt64BitsToDouble(bits)));
    }

    [Fact]
    public void whitespace_and_member_order_do_not_change_the_canonical_form()
    {
        Assert.Equal(CanonicalJson.CanonicalText("""{"b":[1, 2.0,{"y":1,"x":"\u0041"}],"a":true}"""),
            CanonicalJson.CanonicalText("""{ "a" : true , "b" : [ 1.0 , 2 , { "x" : "A" , "y" : 1e0 } ] }"""));
    }

    [Fact]
    public void duplicate_member_names_are_refused()
    {
        Assert.Throws<FormatException>(() => CanonicalJson.CanonicalText("""{"a":1,"a":2}"""));
    }

    [Fact]
    public void a_lone_surrogate_is_refused()
    {
        Assert.Throws<FormatException>(() => CanonicalJson.CanonicalText("""{"a":"\ud800"}"""));
    }
}
