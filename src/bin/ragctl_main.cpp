#include <cstdio>
int main() { std::puts("ragd " RAGD_VERSION); return 0; }
