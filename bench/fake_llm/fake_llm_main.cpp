#include <cstdio>
int main() { std::puts("fake-llm"); return 0; }
