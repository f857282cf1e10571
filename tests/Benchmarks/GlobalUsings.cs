global using Aetherra.Testing;
