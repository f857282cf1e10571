namespace Aetherra.Architecture.Tests.Violations.Down;

public static class Leaf
{
    public static string Name() => "leaf";
}
