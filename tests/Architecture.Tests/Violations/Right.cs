namespace Aetherra.Architecture.Tests.Violations.Right;

public sealed class Target
{
    public static bool Matches(object item) => item is Target;
}

public abstract class Base;

[AttributeUsage(AttributeTargets.Class)]
public sealed class MarkAttribute : Attribute;

/// <summary>Closes the loop: uses Left only through a call written with its full name, inside a method body.</summary>
public static class Back
{
    public static int Call() => Aetherra.Architecture.Tests.Violations.Left.Callee.Answer();
}
