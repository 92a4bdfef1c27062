/** The dashboard's mark: two nodes joined through a hub (served as /favicon.svg). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#1f6feb"/>
<path d="M8 10 L16 16 L8 22 M24 10 L16 16 L24 22" stroke="#fff" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round"/>
<circle cx="16" cy="16" r="3.4" fill="#fff"/>
<circle cx="8" cy="10" r="2.2" fill="#9ecbff"/><circle cx="8" cy="22" r="2.2" fill="#9ecbff"/>
<circle cx="24" cy="10" r="2.2" fill="#9ecbff"/><circle cx="24" cy="22" r="2.2" fill="#9ecbff"/>
</svg>
`
