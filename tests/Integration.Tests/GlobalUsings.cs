global using System.Net;
global using System.Net.Http.Json;
global using System.Text.Json;
global using Microsoft.Extensions.DependencyInjection;
global using Xunit;
global using Aetherra.Testing;
